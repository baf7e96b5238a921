-- config: materialized=table, scope=customer
-- Every phone and address reported bad (raw.contact_fingerprints before D, and tonight's
-- first reports), and whether it is still the customer's in D's customers file. The
-- fingerprints are compared here and go no further: what leaves is a boolean.
with

reported as (
    select
        snapshot_date as since_date,
        customer_id,
        contact,
        fingerprint,
        event_id,
        channel,
        outcome,
        occurred_at,
    from raw.contact_fingerprints
    where snapshot_date < $snapshot_date
    union all
    select
        snapshot_date as since_date,
        customer_id,
        contact,
        fingerprint,
        event_id,
        channel,
        outcome,
        occurred_at,
    from work.contact_fingerprints
),

fingerprints as (
    select * from work.stg_customer_fingerprints
),

final as (
    select
        reported.since_date,
        reported.customer_id,
        reported.contact,
        reported.event_id,
        reported.channel,
        reported.outcome,
        reported.occurred_at,
        coalesce(
            reported.fingerprint = case reported.contact
                when 'PHONE' then fingerprints.phone_fingerprint
                else fingerprints.address_fingerprint
            end,
            false
        ) as is_current,
    from reported
    left join fingerprints
        on fingerprints.customer_id = reported.customer_id
)

select * from final
