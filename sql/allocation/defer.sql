-- Actions no agent has room for: deferred with reason CAPACITY, as the channel capacity does.
insert into work.suppressed_actions by name
select
    actions.action_id,
    actions.action_date,
    actions.snapshot_date,
    actions.customer_id,
    actions.loan_ids,
    actions.primary_loan_id,
    actions.channel,
    actions.stage,
    'CAPACITY' as reason,
    deferred.detail,
    actions.risk_score,
    actions.overdue_amount,
    actions.strategy_version,
    actions.strategy_variant,
from work.collection_actions as actions
inner join work.alloc_deferred as deferred
    on deferred.action_id = actions.action_id
