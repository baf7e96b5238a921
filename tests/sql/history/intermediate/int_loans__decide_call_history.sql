-- config: materialized=table, scope=customer
-- Calls already made, for the us profile's caps (12 CFR 1006.14), per customer and loan
-- (loan_id null: events that name no loan, which count against every loan of the customer).
-- Days are the customer's local dates. For action date A:
--   call_attempts   CALL events on A - (period - 1) .. A (the period that ends on A)
--   last_connected_date  the latest CONNECTED call on A - quiet_days + 1 .. A
-- Events come from earlier snapshots and the new events of D, each event once.
with

events as (
    select event_id, customer_id, loan_id, occurred_at, outcome
    from work.stg_contact_events
    where channel = 'CALL'
      and (is_this_run or snapshot_date < $snapshot_date)
),

unique_events as (
    select distinct on (event_id) *
    from events
    order by event_id
),

customers as (
    select customer_id, case when has_valid_timezone then timezone else $default_timezone end as tz
    from work.int_customers__decide
),

local_events as (
    select
        unique_events.customer_id,
        nullif(trim(unique_events.loan_id), '') as loan_id,
        unique_events.outcome,
        timezone(customers.tz, unique_events.occurred_at)::date as local_date,
    from unique_events
    inner join customers
        on customers.customer_id = unique_events.customer_id
    -- coarse cut on the instant before the exact cut on local dates
    where unique_events.occurred_at >= $action_date::date - to_days(
        greatest(coalesce($period_days, 0), coalesce($quiet_days, 0)) + 2
    )
),

final as (
    select
        customer_id,
        loan_id,
        count(*) filter (
            where local_date >= $action_date::date - ($period_days - 1)
              and local_date <= $action_date::date
        ) as call_attempts,
        max(local_date) filter (
            where outcome = 'CONNECTED'
              and local_date >= $action_date::date - ($quiet_days - 1)
              and local_date <= $action_date::date
        ) as last_connected_date,
    from local_events
    group by customer_id, loan_id
)

select * from final
