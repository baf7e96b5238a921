-- config: materialized=table, scope=customer
-- marts.skip_trace at $snapshot_date: the customers with an aged loan whose current address was
-- reported bad (a returned letter, a visit that did not find them), for skip tracing, with the
-- report and every channel their reported-bad contact data blocks. A row per night while the
-- address stays theirs. Ids and dates only.
with

customers as (
    select distinct customer_id
    from work.loan_aging
    where is_aged
),

blocks as (
    select * from work.int_customers__contact_blocks
),

addresses as (
    select * from blocks
    where contact = 'ADDRESS'
),

phones as (
    select customer_id from blocks
    where contact = 'PHONE'
),

final as (
    select
        $snapshot_date::date as snapshot_date,
        addresses.customer_id,
        addresses.since_date,
        addresses.event_id,
        addresses.channel,
        addresses.outcome,
        addresses.occurred_at,
        case
            when phones.customer_id is not null then ['SMS', 'CALL', 'LETTER', 'VISIT']
            else ['LETTER', 'VISIT']
        end as blocked_channels,
    from addresses
    inner join customers
        on customers.customer_id = addresses.customer_id
    left join phones
        on phones.customer_id = addresses.customer_id
)

select * from final
