-- What the cancel manifest says about an action date: withdrawn actions per strategy version
-- and variant (from the actions they withdraw). No personal data.
with

cancelled as (
    select * from marts.cancelled_actions
    where action_date = $action_date
),

actions as (
    select * from marts.collection_actions
    where action_date = $action_date
),

final as (
    select
        actions.strategy_version,
        actions.strategy_variant,
        count(*) as actions,
    from cancelled
    inner join actions
        on actions.action_id = cancelled.action_id
    group by all
    order by all
)

select * from final
