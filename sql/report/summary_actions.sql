-- Actions per channel and stage for action date $action_date.
with

collection_actions as (
    select * from marts.collection_actions
    where action_date = $action_date
),

final as (
    select
        channel,
        stage,
        count(*) as actions,
        count(distinct customer_id) as customers,
        cast(sum(overdue_amount) as decimal(18,2)) as overdue_amount,
    from collection_actions
    group by channel, stage
)

select * from final
