-- config: materialized=table, scope=customer
-- Per customer, the latest DISPUTE and the latest PROMISE reported (by occurred_at, then
-- event_id) through D, recomputed from every event landed (stg_contact_events: raw.* and the
-- events landed with D).
with

reported as (
    select customer_id, outcome, event_id, channel, occurred_at
    from work.stg_contact_events
    where (is_this_run or snapshot_date < $snapshot_date)
      and outcome in ('DISPUTE', 'PROMISE')
),

final as (
    select * from reported
    qualify row_number() over (
        partition by customer_id, outcome order by occurred_at desc, event_id desc
    ) = 1
)

select * from final
