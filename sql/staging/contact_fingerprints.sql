-- config: materialized=table, scope=customer
-- raw.contact_fingerprints at $snapshot_date: the phones and addresses that the contact events
-- landed with D report bad (CONTRACT section 9), each as the fingerprint of its value in D's
-- customers file, the snapshot the report lands with:
--   WRONG_PARTY on SMS or CALL  the phone
--   FAILED on LETTER            the address (a returned letter)
--   NOT_FOUND on VISIT          the address
-- A value already reported bad on an earlier night keeps its first report; several reports of
-- a value tonight give one row, the earliest. Only the commit (into raw.contact_fingerprints,
-- the personal-data zone) and stg_contact_blocks read this table.
with

events as (
    select
        event_id,
        customer_id,
        channel,
        outcome,
        occurred_at,
        case
            when channel in ('SMS', 'CALL') and outcome = 'WRONG_PARTY' then 'PHONE'
            when channel = 'LETTER' and outcome = 'FAILED' then 'ADDRESS'
            when channel = 'VISIT' and outcome = 'NOT_FOUND' then 'ADDRESS'
        end as contact,
    from work.contact_events
),

reported as (
    select * from events
    where contact is not null
),

fingerprints as (
    select * from work.stg_customer_fingerprints
),

valued as (
    select
        reported.*,
        case reported.contact
            when 'PHONE' then fingerprints.phone_fingerprint
            else fingerprints.address_fingerprint
        end as fingerprint,
    from reported
    inner join fingerprints
        on fingerprints.customer_id = reported.customer_id
),

known as (
    select customer_id, contact, fingerprint
    from raw.contact_fingerprints
    where snapshot_date < $snapshot_date
),

first_reports as (
    select valued.*
    from valued
    anti join known
        on known.customer_id = valued.customer_id
        and known.contact = valued.contact
        and known.fingerprint = valued.fingerprint
    where valued.fingerprint is not null
    qualify row_number() over (
        partition by valued.customer_id, valued.contact, valued.fingerprint
        order by valued.occurred_at, valued.event_id
    ) = 1
),

final as (
    select
        $snapshot_date::date as snapshot_date,
        customer_id,
        contact,
        fingerprint,
        event_id,
        channel,
        outcome,
        occurred_at,
    from first_reports
)

select * from final
