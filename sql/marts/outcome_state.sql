-- config: materialized=table, scope=customer
-- marts.outcome_state after $snapshot_date: per customer, the latest DISPUTE and the latest
-- PROMISE ever reported. Independent of the strategy: dispute_days and promise_grace_days
-- apply when deciding (int_customers__decide_outcome_holds).
with

latest as (
    select * from work.int_outcomes__latest
),

final as (
    select
        $snapshot_date::date as snapshot_date,
        customer_id,
        outcome,
        event_id,
        channel,
        occurred_at,
    from latest
)

select * from final
