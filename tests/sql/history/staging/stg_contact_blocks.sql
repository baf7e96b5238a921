-- config: materialized=table, scope=customer
-- Every phone and address reported bad, recomputed from the whole history: each report landed
-- before D (raw.contact_events), with the value it had in the customers file of the snapshot it
-- landed with (raw.customers), and tonight's reports (work.*); and whether that value is the
-- customer's in D's customers file. Values are compared normalised, as the fingerprints are.
with

events as (
    select snapshot_date, event_id, customer_id, channel, outcome, occurred_at
    from raw.contact_events
    where snapshot_date < $snapshot_date
    union all
    select snapshot_date, event_id, customer_id, channel, outcome, occurred_at
    from work.contact_events
),

reported as (
    select
        *,
        case
            when channel in ('SMS', 'CALL') and outcome = 'WRONG_PARTY' then 'PHONE'
            when channel = 'LETTER' and outcome = 'FAILED' then 'ADDRESS'
            when channel = 'VISIT' and outcome = 'NOT_FOUND' then 'ADDRESS'
        end as contact,
    from events
    -- an event counts with the snapshot it first landed with
    qualify row_number() over (partition by event_id order by snapshot_date) = 1
),

customer_files as (
    select snapshot_date, customer_id, phone, address, city, province, postal_code
    from raw.oracle_customers  -- the landed customers in clear (raw.customers is sealed)
    where snapshot_date < $snapshot_date
    union all
    select $snapshot_date::date, customer_id, phone, address, city, province, postal_code
    from work.customers
),

normalised as (
    select
        snapshot_date,
        customer_id,
        nullif(regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'), '') as phone_value,
        case
            when coalesce(trim(address), '') <> '' then lower(regexp_replace(
                concat_ws(
                    '|',
                    trim(address),
                    coalesce(trim(city), ''),
                    coalesce(trim(province), ''),
                    coalesce(trim(postal_code), '')
                ),
                '[\s\x{3000}]+', ' ', 'g'
            ))
        end as address_value,
    from customer_files
),

valued as (
    select
        reported.snapshot_date as since_date,
        reported.customer_id,
        reported.contact,
        reported.event_id,
        reported.channel,
        reported.outcome,
        reported.occurred_at,
        case reported.contact
            when 'PHONE' then normalised.phone_value
            else normalised.address_value
        end as value_then,
    from reported
    inner join normalised
        on normalised.snapshot_date = reported.snapshot_date
        and normalised.customer_id = reported.customer_id
    where reported.contact is not null
),

today as (
    select * from normalised
    where snapshot_date = $snapshot_date
),

final as (
    select
        valued.since_date,
        valued.customer_id,
        valued.contact,
        valued.event_id,
        valued.channel,
        valued.outcome,
        valued.occurred_at,
        coalesce(
            valued.value_then = case valued.contact
                when 'PHONE' then today.phone_value
                else today.address_value
            end,
            false
        ) as is_current,
    from valued
    left join today
        on today.customer_id = valued.customer_id
    where valued.value_then is not null
)

select * from final
