-- config: materialized=view, scope=customer
-- Customers of D as the strategy sees them: time zone, consents, and which contact data exist
-- (booleans). No personal value leaves this model but phone_fingerprint: publishing reads
-- raw.customers itself.
-- phone_fingerprint: md5 of the number as dialled (digits of its E.164 form: an 11-digit
-- mainland mobile number gets country code 86, '+' and a leading international 00 go), so
-- customers who share a number are found without the number (int_actions__shared_phone).
-- Numbers are few enough to enumerate, so the fingerprint counts as personal data: it stays
-- in work.* and the partition exchange, which the run removes, and no mart carries it.
with

source as (
    select * from work.customers
),

phones as (
    select
        customer_id,
        trim(phone) as phone,
        regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') as digits,
    from source
),

dialled as (
    select
        customer_id,
        case
            when phone like '+%' then digits
            when digits like '00%' then substr(digits, 3)
            when length(digits) = 11 and digits like '1%' then '86' || digits
            else digits
        end as number,
    from phones
),

final as (
    select
        source.customer_id,
        nullif(trim(source.timezone), '') as timezone,
        coalesce(trim(source.phone), '') <> '' as has_phone,
        coalesce(trim(source.address), '') <> '' as has_address,
        coalesce(trim(source.email), '') <> '' as has_email,
        coalesce(source.consent_sms, true) as consent_sms,
        coalesce(source.consent_call, true) as consent_call,
        coalesce(source.consent_email, true) as consent_email,
        case when dialled.number <> '' then md5(dialled.number) end as phone_fingerprint,
    from source
    left join dialled
        on dialled.customer_id = source.customer_id
)

select * from final
