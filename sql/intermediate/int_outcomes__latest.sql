-- config: materialized=table, scope=customer
-- Per customer, the latest DISPUTE and the latest PROMISE reported (by occurred_at, then
-- event_id) through D: the previous night's marts.outcome_state and the events landed with D.
with

previous as (
    select customer_id, outcome, event_id, channel, occurred_at
    from marts.outcome_state
    where snapshot_date = $previous_snapshot_date
),

landed as (
    select customer_id, outcome, event_id, channel, occurred_at
    from work.stg_contact_events
    where is_this_run
      and snapshot_date = $snapshot_date
      and outcome in ('DISPUTE', 'PROMISE')
),

reported as (
    select * from previous
    union all
    select * from landed
),

final as (
    select * from reported
    qualify row_number() over (
        partition by customer_id, outcome order by occurred_at desc, event_id desc
    ) = 1
)

select * from final
