-- config: materialized=view, scope=customer
-- Contact outcomes: every event landed before (raw.*, with the snapshot it landed with) and the
-- events landed with D in this run (is_this_run). An event may have landed twice: readers keep
-- each event_id once. A view binds no parameter, so readers cut the dates they need.
with

landed as (
    select
        snapshot_date,
        event_id,
        action_id,
        customer_id,
        loan_id,
        channel,
        occurred_at,
        outcome,
        false as is_this_run,
    from raw.contact_events
),

this_run as (
    select
        snapshot_date,
        event_id,
        action_id,
        customer_id,
        loan_id,
        channel,
        occurred_at,
        outcome,
        true as is_this_run,
    from work.contact_events
),

final as (
    select * from landed
    union all
    select * from this_run
)

select * from final
