-- Same-day cancellations (CONTRACT section 9), counts and amounts only: the actions of action
-- date $action_date withdrawn during that day because payments covered them, per channel and
-- reason, as the last `arrears cancel` call of the day left them (marts.cancelled_actions).
with

cancelled as (
    select * from marts.cancelled_actions
    where action_date = $action_date
),

final as (
    select
        channel,
        reason,
        count(*) as actions,
        count(distinct customer_id) as customers,
        cast(sum(covered_amount) as decimal(18,2)) as covered_amount,
    from cancelled
    group by channel, reason
)

select * from final
