-- The cancellations the PostgreSQL sink copies for an action date: the mart as it is.
with

cancelled as (
    select * from marts.cancelled_actions
    where action_date = $action_date
),

final as (
    select
        cancelled.action_id,
        cancelled.action_date,
        cancelled.snapshot_date,
        cancelled.customer_id,
        cancelled.channel,
        cancelled.stage,
        cancelled.reason,
        cancelled.covered_at,
        cancelled.covered_amount,
        cancelled.payment_ids,
    from cancelled
    order by cancelled.action_id
)

select * from final
