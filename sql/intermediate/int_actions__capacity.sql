-- config: materialized=table, scope=book
-- The daily capacity cut per channel: priority ranked over all of the day's customers, and the
-- actions beyond a channel's capacity get reason CAPACITY. Its input carries the customer-level
-- reason of int_actions__decide and SHARED_PHONE (null = taken). One model for both kinds of
-- run: a partitioned run decides per partition without capacity and applies this once over the
-- merged actions. Its columns leave out phone_fingerprint, which no mart may carry.
with

actions as (
    select * from work.int_actions__shared_phone
),

capacity as (
    select * from work.strategy_capacity
),

prioritized as (
    select
        actions.* exclude (priority),
        row_number() over (
            partition by actions.channel, actions.reason is null
            order by actions.risk_score desc, actions.overdue_amount desc, actions.customer_id
        ) as priority,
        capacity.capacity,
    from actions
    left join capacity
        on capacity.channel = actions.channel
),

final as (
    select
        action_id,
        action_date,
        snapshot_date,
        customer_id,
        loan_ids,
        primary_loan_id,
        channel,
        stage,
        source,
        case
            when reason is not null then reason
            when capacity is not null and priority > capacity then 'CAPACITY'
        end as reason,
        case
            when reason is not null then detail
            when capacity is not null and priority > capacity
                then 'priority ' || priority || ' beyond daily capacity ' || capacity
        end as detail,
        case when reason is null then priority end as priority,
        risk_score,
        overdue_amount,
        outstanding_amount,
        window_start,
        window_end,
        timezone,
        max_attempts,
        template,
        strategy_version,
        strategy_variant,
    from prioritized
)

select * from final
