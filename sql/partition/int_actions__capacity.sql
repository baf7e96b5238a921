-- The daily capacity cut per channel over the merged actions of all partitions (partitioned
-- runs only). The partitions decide without capacity, so their actions carry the customer-level
-- reason (null = taken) of int_actions__decide; here priority is ranked over all customers and
-- the actions beyond a channel's capacity get reason CAPACITY, by the same rule and wording
-- as int_actions__decide.
with

actions as (
    select * from work.decide_actions_uncut
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
