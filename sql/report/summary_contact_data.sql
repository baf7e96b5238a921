-- Contact data reported bad (CONTRACT section 9), counts only: per reason, the customers and
-- actions of action date $action_date held back for a phone (BAD_PHONE) or an address
-- (BAD_ADDRESS) reported bad; SKIP_TRACE, the customers in marts.skip_trace at $snapshot_date
-- and those first listed that night.
with

reasons as (
    select * from (values (1, 'BAD_PHONE'), (2, 'BAD_ADDRESS')) as t(position, item)
),

held as (
    select
        reason,
        count(distinct customer_id) as customers,
        count(*) as actions,
    from marts.suppressed_actions
    where action_date = $action_date
      and reason in ('BAD_PHONE', 'BAD_ADDRESS')
    group by reason
),

traced as (
    select
        count(*) as customers,
        count(*) filter (where since_date = $snapshot_date) as new_customers,
    from marts.skip_trace
    where snapshot_date = $snapshot_date
),

final as (
    select
        reasons.position,
        reasons.item,
        coalesce(held.customers, 0) as customers,
        coalesce(held.actions, 0) as actions,
        null::bigint as new_customers,
    from reasons
    left join held
        on held.reason = reasons.item
    union all
    select 3, 'SKIP_TRACE', customers, null, new_customers
    from traced
)

select item, customers, actions, new_customers from final order by position
