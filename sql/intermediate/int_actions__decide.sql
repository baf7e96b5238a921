-- config: materialized=table, scope=customer
-- Customer x channel x source: the candidates that passed the loan-level checks, consolidated,
-- then the customer-level checks in this order: CONSENT, NO_CONTACT_DATA, BAD_PHONE and
-- BAD_ADDRESS (a phone or address reported bad while it stays the customer's), WINDOW, CAP (one
-- action per customer, channel and date: an arrangement reminder SMS wins over a stage SMS).
-- reason null = the action passed them; int_actions__shared_phone then keeps one CALL and one
-- SMS per number across customers (SMS and CALL rows carry the phone_fingerprint of
-- stg_customers for it), and int_actions__capacity applies the daily capacity per channel.
with

candidates as (
    select * from work.int_candidates__decide
    where reason is null
),

customers as (
    select * from work.int_customers__decide
),

bad_contacts as (
    select * from work.int_customers__contact_blocks
),

phones as (
    select customer_id, phone_fingerprint from work.stg_customers
),

-- the contact window on the action date, once per time zone (ICU conversions are not free)
windows as (
    select
        timezone,
        timezone(timezone, $action_date::date + $window_start::time) as window_start,
        timezone(timezone, $action_date::date + $window_end::time) as window_end,
    from (select distinct timezone from customers where has_valid_timezone)
),

consolidated as (
    select
        customer_id,
        channel,
        source,
        min(variant) as variant,
        min(stage) as stage,
        min(template) as template,
        list(loan_id order by loan_id) as loan_ids,
        -- the most delinquent loan, then the largest overdue, then the largest balance
        first(loan_id order by dpd desc, overdue_amount desc, outstanding_principal desc, loan_id)
            as primary_loan_id,
        max(risk_score) as risk_score,
        sum(overdue_amount)::decimal(18,2) as overdue_amount,
        sum(outstanding_principal)::decimal(18,2) as outstanding_amount,
        min(call_attempts_remaining) as call_attempts_remaining,
    from candidates
    group by customer_id, channel, source
),

checked as (
    select
        consolidated.*,
        customers.timezone,
        customers.has_valid_timezone,
        case
            when consolidated.channel = 'SMS' and not customers.consent_sms then 'CONSENT'
            when consolidated.channel = 'CALL' and not customers.consent_call then 'CONSENT'
            when consolidated.channel = 'EMAIL' and not customers.consent_email then 'CONSENT'
            when consolidated.channel in ('SMS', 'CALL') and not customers.has_phone
                then 'NO_CONTACT_DATA'
            when consolidated.channel in ('LETTER', 'VISIT') and not customers.has_address
                then 'NO_CONTACT_DATA'
            when consolidated.channel = 'EMAIL' and not customers.has_email then 'NO_CONTACT_DATA'
            when consolidated.channel in ('SMS', 'CALL') and bad_phones.customer_id is not null
                then 'BAD_PHONE'
            when consolidated.channel in ('LETTER', 'VISIT') and bad_addresses.customer_id is not null
                then 'BAD_ADDRESS'
            when not customers.has_valid_timezone then 'WINDOW'
            when row_number() over (
                partition by consolidated.customer_id, consolidated.channel
                order by case consolidated.source when 'REMINDER' then 0 else 1 end
            ) > 1 then 'CAP'
        end as reason,
        case
            when consolidated.channel in ('SMS', 'CALL') and not customers.has_phone then 'no phone'
            when consolidated.channel in ('LETTER', 'VISIT') and not customers.has_address
                then 'no address'
            when consolidated.channel = 'EMAIL' and not customers.has_email then 'no email'
            when consolidated.channel in ('SMS', 'CALL') and bad_phones.customer_id is not null
                then 'phone reported ' || bad_phones.outcome || ' by ' || bad_phones.channel
                    || ' (landed ' || bad_phones.since_date || '): not used until it changes'
            when consolidated.channel in ('LETTER', 'VISIT') and bad_addresses.customer_id is not null
                then 'address reported ' || bad_addresses.outcome || ' by ' || bad_addresses.channel
                    || ' (landed ' || bad_addresses.since_date || '): not used until it changes'
            when not customers.has_valid_timezone then 'unknown time zone ' || customers.timezone
        end as contact_detail,
        case when consolidated.channel in ('SMS', 'CALL') then phones.phone_fingerprint end
            as phone_fingerprint,
    from consolidated
    inner join customers
        on customers.customer_id = consolidated.customer_id
    left join bad_contacts as bad_phones
        on bad_phones.customer_id = consolidated.customer_id
        and bad_phones.contact = 'PHONE'
    left join bad_contacts as bad_addresses
        on bad_addresses.customer_id = consolidated.customer_id
        and bad_addresses.contact = 'ADDRESS'
    left join phones
        on phones.customer_id = consolidated.customer_id
),

prioritized as (
    select
        checked.*,
        row_number() over (
            partition by checked.channel, checked.reason is null
            order by checked.risk_score desc, checked.overdue_amount desc, checked.customer_id
        ) as priority,
        windows.window_start,
        windows.window_end,
    from checked
    left join windows
        on windows.timezone = checked.timezone
),

final as (
    select
        md5(concat_ws('|', $action_date::date, customer_id, channel, $strategy_version))
            as action_id,
        $action_date::date as action_date,
        $snapshot_date::date as snapshot_date,
        customer_id,
        loan_ids,
        primary_loan_id,
        channel,
        stage,
        source,
        reason,
        case
            when reason = 'CONSENT' then 'consent_' || lower(channel) || ' is false'
            when reason = 'CAP' then 'at most one ' || channel || ' a day per customer'
            when reason is not null then contact_detail
        end as detail,
        case when reason is null then priority end as priority,
        risk_score,
        overdue_amount,
        outstanding_amount,
        window_start,
        window_end,
        timezone,
        case
            when channel = 'CALL' then least($call_attempts_per_day::integer, call_attempts_remaining)
        end as max_attempts,
        template,
        $strategy_version as strategy_version,
        variant as strategy_variant,
        phone_fingerprint,
    from prioritized
)

select * from final
