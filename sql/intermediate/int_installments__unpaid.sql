-- config: materialized=view, scope=customer
-- Unpaid amount of each installment: all due - all paid, floored at 0 (an overpayment never
-- makes it negative); each part (principal, interest, fees) is floored on its own.
-- Parameter-free, so a view: the 12M-row installment grain is never written to disk.
with

installments as (
    select * from work.stg_installments
),

final as (
    select
        loan_id,
        installment_no,
        due_date,
        last_payment_date,
        cast(principal_paid + interest_paid + fees_paid as decimal(18,2)) as paid_amount,
        cast(greatest(principal_due - principal_paid, 0) as decimal(18,2)) as unpaid_principal_amount,
        cast(greatest(interest_due - interest_paid, 0) as decimal(18,2)) as unpaid_interest_amount,
        cast(greatest(fees_due - fees_paid, 0) as decimal(18,2)) as unpaid_fees_amount,
        cast(
            greatest(
                (principal_due + interest_due + fees_due) - (principal_paid + interest_paid + fees_paid),
                0
            ) as decimal(18,2)
        ) as unpaid_amount,
    from installments
)

select * from final
