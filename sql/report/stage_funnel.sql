-- Customers and actions per stage for action date $action_date (each customer once per stage).
with

collection_actions as (
    select * from marts.collection_actions
    where action_date = $action_date
),

final as (
    select
        stage,
        count(distinct customer_id) as customers,
        count(*) as actions,
    from collection_actions
    group by stage
)

select * from final
