-- config: materialized=table, scope=customer
-- The actions of action date A to withdraw, because payments made during day A made them
-- unnecessary (CONTRACT section 9; docs/outbox.md "Cancellations"). Every action of A is
-- considered afresh from all of the day's payments, so the list only grows as payments land.
--   PAID              an action with an overdue amount (any stage but a pre-due one): the
--                     payments on the action's loans, summed, reach overdue_amount - tolerance.
--   PAID_INSTALLMENT  an action of a pre-due stage (one with due_in_days: PRE_DUE): on every
--                     loan of the action, the payments on that loan reach what the snapshot
--                     still had unpaid on it through the reminded due date (snapshot date +
--                     due_in_days), less the tolerance. Payments settle the oldest dues first,
--                     so the reminded installment is paid once everything due up to it is;
--                     an installment left with at most the tolerance unpaid never falls overdue.
-- An action with no payment on its loans is never withdrawn: what must be reached is at least
-- one cent. covered_at is the paid_at of the payment that completed the cover, payment_ids the
-- payments counted up to it (paid_at, then payment_id order).
with

actions as (
    select * from marts.collection_actions
    where action_date = $action_date
),

payments as (
    select * from work.stg_payments
),

pre_due_stages as (
    select variant, stage, due_in_days
    from work.strategy_stages
    where due_in_days is not null
),

-- the loans of each action that were paid on today
action_loans as (
    select covered.action_id, covered.loan_id
    from (
        select actions.action_id, unnest(actions.loan_ids) as loan_id
        from actions
    ) as covered
    where covered.loan_id in (select loan_id from payments)
),

classified as (
    select
        actions.action_id,
        actions.snapshot_date,
        len(actions.loan_ids) as loans,
        actions.overdue_amount,
        pre_due_stages.due_in_days,
        case
            when pre_due_stages.stage is not null then 'PAID_INSTALLMENT'
            when actions.overdue_amount > 0 then 'PAID'
        end as reason,
    from actions
    left join pre_due_stages
        on pre_due_stages.variant = actions.strategy_variant
        and pre_due_stages.stage = actions.stage
    where actions.action_id in (select action_id from action_loans)
),

-- PAID: the payments on all of the action's loans count together
paid_payments as (
    select
        classified.action_id,
        greatest(classified.overdue_amount - $tolerance, 0.01) as due_amount,
        payments.payment_id,
        payments.paid_at,
        payments.amount,
        sum(payments.amount) over (
            partition by classified.action_id
            order by payments.paid_at, payments.payment_id
            rows between unbounded preceding and current row
        ) as paid_so_far,
    from classified
    inner join action_loans
        on action_loans.action_id = classified.action_id
    inner join payments
        on payments.loan_id = action_loans.loan_id
    where classified.reason = 'PAID'
),

paid as (
    select
        action_id,
        'PAID' as reason,
        min(paid_at) filter (where paid_so_far >= due_amount) as covered_at,
        sum(amount) filter (where paid_so_far - amount < due_amount) as covered_amount,
        list(payment_id order by paid_at, payment_id)
            filter (where paid_so_far - amount < due_amount) as payment_ids,
    from paid_payments
    group by action_id
    having max(paid_so_far) >= any_value(due_amount)
),

-- PAID_INSTALLMENT: each loan of the action by its own payments
pre_due_loans as (
    select
        classified.action_id,
        action_loans.loan_id,
        classified.snapshot_date,
        classified.snapshot_date + classified.due_in_days as reminded_due_date,
    from classified
    inner join action_loans
        on action_loans.action_id = classified.action_id
    where classified.reason = 'PAID_INSTALLMENT'
),

installments as (
    select loan_id, due_date, unpaid_amount
    from work.stg_snapshot_installments
    where snapshot_date = $snapshot_date
      and loan_id in (select loan_id from pre_due_loans)
),

still_due as (
    select
        pre_due_loans.action_id,
        pre_due_loans.loan_id,
        greatest(coalesce(sum(installments.unpaid_amount), 0) - $tolerance, 0.01) as due_amount,
    from pre_due_loans
    left join installments
        on installments.loan_id = pre_due_loans.loan_id
        and installments.due_date <= pre_due_loans.reminded_due_date
    group by pre_due_loans.action_id, pre_due_loans.loan_id
),

loan_payments as (
    select
        still_due.action_id,
        still_due.loan_id,
        still_due.due_amount,
        payments.payment_id,
        payments.paid_at,
        payments.amount,
        sum(payments.amount) over (
            partition by still_due.action_id, still_due.loan_id
            order by payments.paid_at, payments.payment_id
            rows between unbounded preceding and current row
        ) as paid_so_far,
    from still_due
    inner join payments
        on payments.loan_id = still_due.loan_id
),

covered_loans as (
    select
        action_id,
        loan_id,
        min(paid_at) filter (where paid_so_far >= due_amount) as covered_at,
    from loan_payments
    group by action_id, loan_id
    having max(paid_so_far) >= any_value(due_amount)
),

paid_installment as (
    select
        loan_payments.action_id,
        'PAID_INSTALLMENT' as reason,
        max(covered_loans.covered_at) as covered_at,
        sum(loan_payments.amount) as covered_amount,
        list(loan_payments.payment_id order by loan_payments.paid_at, loan_payments.payment_id)
            as payment_ids,
    from loan_payments
    inner join covered_loans
        on covered_loans.action_id = loan_payments.action_id
        and covered_loans.loan_id = loan_payments.loan_id
    inner join classified
        on classified.action_id = loan_payments.action_id
    where loan_payments.paid_so_far - loan_payments.amount < loan_payments.due_amount
    group by loan_payments.action_id, classified.loans
    -- every loan of the action is covered, not just some
    having count(distinct loan_payments.loan_id) = classified.loans
),

covers as (
    select * from paid
    union all
    select * from paid_installment
),

final as (
    select
        actions.action_id,
        actions.action_date,
        actions.snapshot_date,
        actions.customer_id,
        actions.channel,
        actions.stage,
        covers.reason,
        covers.covered_at,
        covers.covered_amount,
        covers.payment_ids,
    from covers
    inner join actions
        on actions.action_id = covers.action_id
    order by actions.channel, actions.action_id
)

select * from final
