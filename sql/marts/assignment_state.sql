-- config: materialized=table, scope=book
-- marts.assignment_state after $snapshot_date: per customer and channel, who works the
-- customer and since when (continuity from night to night). The previous version less the
-- placements ended tonight, plus those made tonight (marts.assignments).
with

previous as (
    select * from marts.assignment_state
    where snapshot_date = $previous_snapshot_date
),

tonight as (
    select * from work.assignments
),

ended as (
    select * from tonight
    where recalled_date is not null
),

carried as (
    select previous.*
    from previous
    anti join ended
        on ended.customer_id = previous.customer_id
        and ended.channel = previous.channel
        and ended.assignee_kind = previous.assignee_kind
        and ended.assignee_id = previous.assignee_id
),

placed as (
    select customer_id, channel, assignee_kind, assignee_id, placed_date, allocation_version,
    from tonight
    where recalled_date is null
),

final as (
    select
        $snapshot_date::date as snapshot_date,
        customer_id,
        channel,
        assignee_kind,
        assignee_id,
        placed_date,
        allocation_version,
    from carried
    union all
    select
        $snapshot_date::date as snapshot_date,
        customer_id,
        channel,
        assignee_kind,
        assignee_id,
        placed_date,
        allocation_version,
    from placed
    order by customer_id, channel
)

select * from final
