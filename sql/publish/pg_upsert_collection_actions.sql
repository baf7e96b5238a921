-- Insert new actions, update changed ones; an unchanged row is left untouched (no new tuple)
-- and keeps the run_id and loaded_at of the load that last changed it. A row from before
-- loads were recorded (loaded_at null) takes the current load's.
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
    strategy_variant = excluded.strategy_variant,
    currency = excluded.currency,
    assignee_kind = excluded.assignee_kind,
    assignee_id = excluded.assignee_id,
    visit_sequence = excluded.visit_sequence,
    model_version = excluded.model_version,
    run_id = excluded.run_id,
    loaded_at = excluded.loaded_at
where (
    target.action_date, target.snapshot_date, target.customer_id, target.loan_ids,
    target.primary_loan_id, target.channel, target.stage, target.priority, target.risk_score,
    target.overdue_amount, target.outstanding_amount, target.window_start, target.window_end,
    target.timezone, target.max_attempts, target.template, target.strategy_version,
    target.strategy_variant, target.currency, target.assignee_kind, target.assignee_id,
    target.visit_sequence, target.model_version
) is distinct from (
    excluded.action_date, excluded.snapshot_date, excluded.customer_id, excluded.loan_ids,
    excluded.primary_loan_id, excluded.channel, excluded.stage, excluded.priority,
    excluded.risk_score, excluded.overdue_amount, excluded.outstanding_amount,
    excluded.window_start, excluded.window_end, excluded.timezone, excluded.max_attempts,
    excluded.template, excluded.strategy_version, excluded.strategy_variant, excluded.currency,
    excluded.assignee_kind, excluded.assignee_id, excluded.visit_sequence, excluded.model_version
)
    or target.loaded_at is null
