-- config: materialized=view, scope=customer
-- Contact outcomes: every event landed before (marts.contact_history: each event once, with the
-- snapshot it first landed with) and the events landed with D in this run (is_this_run). A
-- view binds no parameter, so readers cut the snapshot dates they need (which prunes the scan).
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
    from marts.contact_history
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
