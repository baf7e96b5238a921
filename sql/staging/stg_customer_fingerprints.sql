-- config: materialized=table, scope=customer
-- A fingerprint of the phone and address in D's customers file of each customer that tonight's
-- contact events or an earlier report of a bad value concern (the others need none, and the
-- normalising is not free on a whole book), to compare with the values reported bad
-- (raw.contact_fingerprints). A fingerprint is personal data (a phone number can be found from
-- it by trying them all): only staging models read this table, and only
-- raw.contact_fingerprints, in the personal-data zone, stores what it gives.
--   phone    its digits: spaces, dashes, brackets and a leading + are formatting, not a change
--   address  address, city, province and postal code, trimmed, runs of blanks as one, lower case
-- sha256 over a prefix, the customer_id and the value; no value, no fingerprint.
with

concerned as (
    select customer_id from work.contact_events
    union
    select customer_id from raw.contact_fingerprints
    where snapshot_date < $snapshot_date
),

source as (
    select customers.*
    from work.customers as customers
    semi join concerned
        on concerned.customer_id = customers.customer_id
),

normalised as (
    select
        customer_id,
        regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') as phone_digits,
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
        end as address_text,
    from source
),

final as (
    select
        customer_id,
        case
            when phone_digits <> '' then sha256('phone:' || customer_id || ':' || phone_digits)
        end as phone_fingerprint,
        case
            when address_text is not null then sha256('address:' || customer_id || ':' || address_text)
        end as address_fingerprint,
    from normalised
)

select * from final
