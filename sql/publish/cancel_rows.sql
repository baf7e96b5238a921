-- One channel's cancel file for an action date (docs/outbox.md "Cancellations"): the actions
-- to withdraw, in action_id order. Ids, amounts and times only: no personal data.
with

cancelled as (
    select * from marts.cancelled_actions
    where action_date = $action_date
      and channel = $channel
),

final as (
    select
        cancelled.action_id,
        cancelled.action_date,
        cancelled.customer_id,
        cancelled.stage,
        cancelled.reason,
        cancelled.covered_at,
        cancelled.covered_amount,
        cancelled.payment_ids,
    from cancelled
    order by cancelled.action_id
)

select * from final
