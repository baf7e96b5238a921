-- config: materialized=table, scope=customer
-- Per loan: the oldest overdue installment (dpd counts from its due date), the overdue amounts,
-- what was paid so far and the next installment that still has something to pay.
-- Overdue: due before D and unpaid above the tolerance, so an installment due on D is never
-- overdue on D, and one unpaid at the end of D is 1 day past due on D + 1.
with

unpaid as (
    select * from work.int_installments__unpaid
),

installments as (
    select
        *,
        due_date < $snapshot_date and unpaid_amount > $tolerance as is_overdue,
        due_date >= $snapshot_date and unpaid_amount > 0 as is_upcoming,
    from unpaid
),

per_loan as (
    select
        loan_id,
        min(due_date) filter (where is_overdue) as oldest_unpaid_due_date,
        count(*) filter (where is_overdue) as overdue_installments,
        sum(unpaid_principal_amount) filter (where is_overdue) as overdue_principal_amount,
        sum(unpaid_interest_amount) filter (where is_overdue) as overdue_interest_amount,
        sum(unpaid_fees_amount) filter (where is_overdue) as overdue_fees_amount,
        sum(unpaid_amount) filter (where is_overdue) as overdue_amount,
        sum(paid_amount) as paid_to_date_amount,
        max(last_payment_date) as last_payment_date,
        min(due_date) filter (where is_upcoming) as next_due_date,
    from installments
    group by loan_id
),

-- Several installments may fall due on the same next date: their unpaid amounts add up.
next_due as (
    select
        installments.loan_id,
        sum(installments.unpaid_amount) as next_due_amount,
    from installments
    inner join per_loan
        on per_loan.loan_id = installments.loan_id
        and per_loan.next_due_date = installments.due_date
    where installments.is_upcoming
    group by installments.loan_id
),

final as (
    select
        per_loan.*,
        next_due.next_due_amount,
    from per_loan
    left join next_due
        on next_due.loan_id = per_loan.loan_id
)

select * from final
