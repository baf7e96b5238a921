-- config: materialized=table, scope=book
-- Every action not taken, with its reason: loan-level reasons (ARRANGEMENT, HOLD_<KIND>,
-- PROMISE_GRACE, CAP of the us call rules) consolidated per customer, channel and reason, then
-- the customer-level reasons of int_actions__decide (CONSENT, NO_CONTACT_DATA, BAD_PHONE,
-- BAD_ADDRESS, WINDOW, CAP, CAPACITY).
-- action_id is the id the action has, or would have had.
with

loan_level as (
    select * from work.int_candidates__decide
    where reason is not null
),

customer_level as (
    select * from work.int_actions__capacity
    where reason is not null
),

loan_level_consolidated as (
    select
        md5(concat_ws('|', $action_date::date, customer_id, channel, $strategy_version))
            as action_id,
        $action_date::date as action_date,
        $snapshot_date::date as snapshot_date,
        customer_id,
        list(loan_id order by loan_id) as loan_ids,
        first(loan_id order by dpd desc, overdue_amount desc, outstanding_principal desc, loan_id)
            as primary_loan_id,
        channel,
        -- the most severe stage among the loans concerned (reminders: ARRANGEMENT)
        coalesce(arg_min(stage, loan_stage_rank) filter (where source <> 'REMINDER'), min(stage))
            as stage,
        reason,
        min(detail) as detail,
        max(risk_score) as risk_score,
        sum(overdue_amount)::decimal(18,2) as overdue_amount,
        $strategy_version as strategy_version,
        min(variant) as strategy_variant,
    from loan_level
    group by customer_id, channel, reason
),

customer_level_rows as (
    select
        action_id,
        action_date,
        snapshot_date,
        customer_id,
        loan_ids,
        primary_loan_id,
        channel,
        stage,
        reason,
        detail,
        risk_score,
        overdue_amount,
        strategy_version,
        strategy_variant,
    from customer_level
),

final as (
    select * from loan_level_consolidated
    union all
    select * from customer_level_rows
    order by customer_id, channel, reason
)

select * from final
