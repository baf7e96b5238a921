-- Actions not taken for action date $action_date, per reason and channel.
with

suppressed_actions as (
    select * from marts.suppressed_actions
    where action_date = $action_date
),

final as (
    select
        reason,
        channel,
        count(*) as actions,
        count(distinct customer_id) as customers,
    from suppressed_actions
    group by reason, channel
    order by reason, channel
)

select * from final
