-- config: materialized=table, scope=customer
-- marts.contact_history at $snapshot_date: the contact events that landed with D, each event
-- once (ingest has dropped the events already landed with another date).
with

events as (
    select * from work.stg_contact_events
    where is_this_run
),

final as (
    select
        $snapshot_date::date as snapshot_date,
        event_id,
        action_id,
        customer_id,
        loan_id,
        channel,
        occurred_at,
        outcome,
    from events
)

select * from final
