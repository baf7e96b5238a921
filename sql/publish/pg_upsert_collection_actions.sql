-- Insert new actions, update changed ones; an unchanged row is left untouched (no new tuple).
insert into {schema}.collection_actions as target
select * from stage_collection_actions
on conflict (action_id) do update set
    action_date = excluded.action_date,
    snapshot_date = excluded.snapshot_date,
    customer_id = excluded.customer_id,
    loan_ids = excluded.loan_ids,
    primary_loan_id = excluded.primary_loan_id,
    channel = excluded.channel,
    stage = excluded.stage,
    priority = excluded.priority,
    risk_score = excluded.risk_score,
    overdue_amount = excluded.overdue_amount,
    outstanding_amount = excluded.outstanding_amount,
    window_start = excluded.window_start,
    window_end = excluded.window_end,
    timezone = excluded.timezone,
    max_attempts = excluded.max_attempts,
    template = excluded.template,
    strategy_version = excluded.strategy_version,
    strategy_variant = excluded.strategy_variant
where target is distinct from excluded
