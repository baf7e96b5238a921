-- One channel's outbox rows for an action date: the action columns of the mart plus every
-- recipient column any channel may carry. The caller selects only what its channel is allowed
-- (arrears/publish/columns.py) and orders by priority, action_id. Personal values come from
-- publish_customers, the temporary table of the date's recipients with their records opened
-- (arrears/pii/publishing.py): raw.customers holds them sealed. Phones go out in E.164 (an
-- 11-digit mainland number gets +86, as stg_customers dials it); currency is the covered loans'
-- (docs/outbox.md "Currency").
with

actions as (
    select * from marts.collection_actions
    where action_date = $action_date
      and channel = $channel
),

customers as (
    select * from publish_customers
),

loan_aging as (
    select snapshot_date, loan_id, branch from marts.loan_aging
),

-- The covered loans' currency when they share one; null when they span currencies (the
-- amounts are then sums across currencies: docs/outbox.md "Currency") or none is known.
currencies as (
    select
        covered.action_id,
        case
            when count(distinct loan_aging.currency) = 1
                and count(loan_aging.currency) = count(*)
                then min(loan_aging.currency)
        end as currency,
    from (
        select action_id, snapshot_date, unnest(loan_ids) as loan_id from actions
    ) as covered
    left join marts.loan_aging as loan_aging
        on loan_aging.loan_id = covered.loan_id
        and loan_aging.snapshot_date = covered.snapshot_date
    group by covered.action_id
),

phones as (
    select
        customer_id,
        snapshot_date,
        trim(phone) as phone,
        regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') as digits,
    from customers
),

e164 as (
    select
        customer_id,
        snapshot_date,
        case
            when digits = '' then null
            when phone like '+%' then '+' || digits
            when length(digits) = 11 and digits like '1%' then '+86' || digits
            -- validation lets no other form through (customers.critical); kept as landed
            else phone
        end as phone,
    from phones
),

final as (
    select
        actions.action_id,
        actions.action_date,
        actions.snapshot_date,
        actions.customer_id,
        actions.loan_ids,
        actions.primary_loan_id,
        actions.channel,
        actions.stage,
        actions.priority,
        actions.overdue_amount,
        actions.outstanding_amount,
        currencies.currency,
        actions.window_start,
        actions.window_end,
        actions.timezone,
        actions.max_attempts,
        actions.template,
        actions.strategy_version,
        actions.strategy_variant,
        customers.full_name,
        customers.national_id,
        e164.phone,
        customers.email,
        customers.address,
        customers.city,
        customers.province,
        customers.postal_code,
        loan_aging.branch,
    from actions
    left join customers
        on customers.customer_id = actions.customer_id
        and customers.snapshot_date = actions.snapshot_date
    left join e164
        on e164.customer_id = actions.customer_id
        and e164.snapshot_date = actions.snapshot_date
    left join currencies
        on currencies.action_id = actions.action_id
    left join loan_aging
        on loan_aging.loan_id = actions.primary_loan_id
        and loan_aging.snapshot_date = actions.snapshot_date
)

select * from final
