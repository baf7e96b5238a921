-- The rows the PostgreSQL sink copies for an action date: the mart as it is (no personal data).
with

actions as (
    select * from marts.collection_actions
    where action_date = $action_date
),

final as (
    select
        actions.action_id,
        actions.action_date,
        actions.snapshot_date,
        actions.customer_id,
        actions.loan_ids,
        actions.primary_loan_id,
        actions.channel,
        actions.stage,
        actions.priority,
        actions.risk_score,
        actions.overdue_amount,
        actions.outstanding_amount,
        actions.window_start,
        actions.window_end,
        actions.timezone,
        actions.max_attempts,
        actions.template,
        actions.strategy_version,
        actions.strategy_variant,
    from actions
    order by actions.action_id
)

select * from final
