-- config: materialized=table, scope=book
-- Placements made and ended for the action date (CONTRACT section 11): who works a customer on
-- a channel, from when (placed_date) to when (recalled_date), and why it ended. Written by the
-- allocation step (arrears/allocation) into work.alloc_events; each row records the version of
-- allocation.yaml it ran under.
with

events as (
    select * from work.alloc_events
),

final as (
    select
        $action_date::date as action_date,
        $snapshot_date::date as snapshot_date,
        customer_id,
        channel,
        assignee_kind,
        assignee_id,
        placed_date,
        recalled_date,
        reason,
        $allocation_version as allocation_version,
    from events
    order by customer_id, channel, recalled_date nulls last
)

select * from final
