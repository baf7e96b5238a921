-- config: materialized=table, scope=customer
-- The holds that contact outcomes put on a customer for the action date (CONTRACT section 9),
-- shaped as holds on every loan of the customer, with the reason they are recorded under:
--   HOLD_DISPUTE   the latest DISPUTE outcome: a DISPUTE hold (holds.DISPUTE of the strategy)
--                  from the day it occurred through that day + $dispute_days, unless the holds
--                  dataset has taken the dispute over: it holds a DISPUTE row for the customer
--                  not ended before that day (the row's own dates apply), or a row of another
--                  kind for the customer starting on or after that day (that kind applies)
--   PROMISE_GRACE  the latest PROMISE outcome: no escalation (SMS only) from the day it
--                  occurred through that day + $promise_grace_days, until the arrangements
--                  dataset holds an arrangement on one of the customer's loans created on or
--                  after the day before (a day of slack for time zones)
-- Days are the customer's local dates, as for the call caps; 0 days turn a rule off.
with

latest as (
    select * from work.int_outcomes__latest
),

customers as (
    select
        customer_id,
        case when has_valid_timezone then timezone else $default_timezone end as tz,
    from work.int_customers__decide
),

holds as (
    select customer_id, kind, start_date, end_date
    from work.stg_holds
),

arrangements as (
    select customer_id, created_date
    from work.arrangement_status
),

outcomes as (
    select
        latest.customer_id,
        latest.outcome,
        latest.channel,
        timezone(customers.tz, latest.occurred_at)::date as occurred_date,
        case latest.outcome
            when 'DISPUTE' then $dispute_days::integer
            else $promise_grace_days::integer
        end as days,
    from latest
    inner join customers
        on customers.customer_id = latest.customer_id
),

in_force as (
    select
        *,
        occurred_date + days as end_date,
    from outcomes
    where days > 0
      and occurred_date <= $action_date::date
      and occurred_date + days >= $action_date::date
),

disputes as (
    select in_force.*
    from in_force
    anti join holds
        on holds.customer_id = in_force.customer_id
        and (
            (holds.kind = 'DISPUTE'
             and (holds.end_date is null or holds.end_date >= in_force.occurred_date))
            or (holds.kind <> 'DISPUTE' and holds.start_date >= in_force.occurred_date)
        )
    where in_force.outcome = 'DISPUTE'
),

graces as (
    select in_force.*
    from in_force
    anti join arrangements
        on arrangements.customer_id = in_force.customer_id
        and arrangements.created_date >= in_force.occurred_date - 1
    where in_force.outcome = 'PROMISE'
),

final as (
    select
        customer_id,
        'DISPUTE' as kind,
        'HOLD_DISPUTE' as reason,
        occurred_date as start_date,
        end_date,
        'DISPUTE reported by ' || channel || ' on ' || occurred_date
            || ': held through ' || end_date as detail,
    from disputes
    union all
    select
        customer_id,
        'PROMISE_GRACE' as kind,
        'PROMISE_GRACE' as reason,
        occurred_date as start_date,
        end_date,
        'PROMISE reported by ' || channel || ' on ' || occurred_date
            || ': no escalation through ' || end_date || ' or until the arrangement is recorded'
            as detail,
    from graces
)

select * from final
