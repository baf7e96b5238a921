-- config: materialized=view, scope=customer
-- The repayment schedule of D with what is paid; fee and penalty form one fees part.
-- work.installments holds the snapshot of D only (checked by build_aging): a view.
with

source as (
    select * from work.installments
),

final as (
    select
        loan_id,
        installment_no,
        due_date,
        principal_due,
        interest_due,
        cast(coalesce(fee_due, 0) + coalesce(penalty_due, 0) as decimal(18,2)) as fees_due,
        principal_paid,
        interest_paid,
        cast(coalesce(fee_paid, 0) + coalesce(penalty_paid, 0) as decimal(18,2)) as fees_paid,
        last_payment_date,
    from source
)

select * from final
