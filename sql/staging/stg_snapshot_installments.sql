-- config: materialized=view, scope=customer
-- The committed schedules (raw.installments, every kept snapshot) with each installment's unpaid
-- amount as aging computes it (docs/aging.md): for runs that do not land a snapshot themselves,
-- such as the same-day cancellation. A view binds no parameter, so readers cut the snapshot
-- date and the loans they need (which prunes the scan).
with

source as (
    select * from raw.installments
),

final as (
    select
        snapshot_date,
        loan_id,
        installment_no,
        due_date,
        cast(
            greatest(
                (principal_due + interest_due + coalesce(fee_due, 0) + coalesce(penalty_due, 0))
                - (principal_paid + interest_paid + coalesce(fee_paid, 0) + coalesce(penalty_paid, 0)),
                0
            ) as decimal(18,2)
        ) as unpaid_amount,
    from source
)

select * from final
