-- config: materialized=table, scope=book
-- The action list for the action date: one row per customer, channel and date (CONTRACT section 5).
with

actions as (
    select * from work.int_actions__capacity
    where reason is null
),

final as (
    select
        action_id,
        action_date,
        snapshot_date,
        customer_id,
        loan_ids,
        primary_loan_id,
        channel,
        stage,
        priority::integer as priority,
        risk_score,
        overdue_amount,
        outstanding_amount,
        window_start,
        window_end,
        timezone,
        max_attempts::integer as max_attempts,
        template,
        strategy_version,
        strategy_variant,
        -- the saved model the priority came from (risk.model); null: the weighted score
        $model_version::varchar as model_version,
    from actions
    order by channel, priority
)

select * from final
