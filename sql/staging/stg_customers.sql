-- config: materialized=view, scope=customer
-- Customers of D as the strategy sees them: time zone, consents, and which contact data exist
-- (booleans). No personal value leaves this model: publishing reads raw.customers itself.
with

source as (
    select * from work.customers
),

final as (
    select
        customer_id,
        nullif(trim(timezone), '') as timezone,
        coalesce(trim(phone), '') <> '' as has_phone,
        coalesce(trim(address), '') <> '' as has_address,
        coalesce(trim(email), '') <> '' as has_email,
        coalesce(consent_sms, true) as consent_sms,
        coalesce(consent_call, true) as consent_call,
        coalesce(consent_email, true) as consent_email,
    from source
)

select * from final
