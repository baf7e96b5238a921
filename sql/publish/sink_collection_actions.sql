-- The rows the PostgreSQL sink copies for an action date: the mart as it is (no personal data),
-- with the covered loans' currency (as in the outbox files), the assignee and the model.
-- run_id and loaded_at are the load's, set by the sink.
with

actions as (
    select * from marts.collection_actions
    where action_date = $action_date
),

-- The covered loans' currency when they share one; null when they span currencies (the
-- amounts are then sums across currencies: docs/outbox.md "Currency") or none is known.
currencies as (
    select
        covered.action_id,
        case
            when count(distinct loan_aging.currency) = 1
                and count(loan_aging.currency) = count(*)
                then min(loan_aging.currency)
        end as currency,
    from (
        select action_id, snapshot_date, unnest(loan_ids) as loan_id from actions
    ) as covered
    left join marts.loan_aging as loan_aging
        on loan_aging.loan_id = covered.loan_id
        and loan_aging.snapshot_date = covered.snapshot_date
    group by covered.action_id
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
        currencies.currency,
        actions.assignee_kind,
        actions.assignee_id,
        actions.visit_sequence,
        actions.model_version,
    from actions
    left join currencies
        on currencies.action_id = actions.action_id
    order by actions.action_id
)

select * from final
