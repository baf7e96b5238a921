-- The rows the PostgreSQL sink copies for an action date: the mart as it is (no personal data),
-- with the primary loan's currency (as in the outbox files). run_id and loaded_at are the
-- load's, set by the sink.
with

actions as (
    select * from marts.collection_actions
    where action_date = $action_date
),

loan_aging as (
    select snapshot_date, loan_id, currency from marts.loan_aging
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
        loan_aging.currency,
    from actions
    left join loan_aging
        on loan_aging.loan_id = actions.primary_loan_id
        and loan_aging.snapshot_date = actions.snapshot_date
    order by actions.action_id
)

select * from final
