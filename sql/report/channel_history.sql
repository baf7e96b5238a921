-- Actions per channel for the last $action_dates action dates up to $action_date.
with

collection_actions as (
    select * from marts.collection_actions
    where action_date <= $action_date
),

dates as (
    select distinct action_date,
    from collection_actions
    order by action_date desc
    limit $action_dates
),

final as (
    select
        collection_actions.action_date,
        collection_actions.channel,
        count(*) as actions,
    from collection_actions
    inner join dates
        on dates.action_date = collection_actions.action_date
    group by collection_actions.action_date, collection_actions.channel
    order by collection_actions.action_date, collection_actions.channel
)

select * from final
