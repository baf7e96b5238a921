-- Insert new cancellations, update changed ones; an unchanged row is left untouched.
insert into {schema}.cancelled_actions as target
select * from stage_cancelled_actions
on conflict (action_id) do update set
    action_date = excluded.action_date,
    snapshot_date = excluded.snapshot_date,
    customer_id = excluded.customer_id,
    channel = excluded.channel,
    stage = excluded.stage,
    reason = excluded.reason,
    covered_at = excluded.covered_at,
    covered_amount = excluded.covered_amount,
    payment_ids = excluded.payment_ids
where target is distinct from excluded
