-- config: materialized=table, scope=customer
-- One row per customer with an aged loan at the snapshot date: variant, time zone, which contact
-- data exist (booleans only: no personal value leaves this model), consents, totals over the
-- aged loans, and where the current delinquency episode began.
with

loans as (
    select customer_id, dpd, outstanding_principal, overdue_amount
    from work.loan_aging
    where is_aged
),

customers as (
    select * from work.stg_customers
),

variants as (
    select * from work.strategy_variants
),

time_zones as (
    select name from pg_timezone_names()
),

-- The episode: a customer's delinquency episode ends when all their loans are back at dpd 0.
-- Only customers delinquent today need its start: after the previous snapshot when they were
-- not delinquent then, else where marts.customer_state says their episode began.
delinquent_today as (
    select customer_id from loans group by customer_id having max(dpd) > 0
),

previous_state as (
    select customer_id, is_delinquent, last_clean_date
    from marts.customer_state
    where snapshot_date = $previous_snapshot_date
),

last_clean_history as (
    select
        delinquent_today.customer_id,
        case
            when previous_state.is_delinquent then previous_state.last_clean_date
            else $previous_aging_date::date
        end as last_clean_date,
    from delinquent_today
    left join previous_state
        on previous_state.customer_id = delinquent_today.customer_id
),

book as (
    select
        customer_id,
        sum(outstanding_principal) as outstanding_total,
        sum(overdue_amount) as overdue_total,
        max(dpd) as max_dpd,
    from loans
    group by customer_id
),

-- stable split: the first 32 bits of md5(salt:customer_id) as a number in [0, 2^32)
hashed as (
    select
        book.*,
        ('0x' || left(md5($salt || ':' || book.customer_id), 8))::bigint as hash_bucket,
    from book
),

final as (
    select
        hashed.customer_id,
        coalesce(variants.variant, 'champion') as variant,
        coalesce(customers.timezone, $default_timezone) as timezone,
        coalesce(customers.timezone, $default_timezone)
            in (select name from time_zones) as has_valid_timezone,
        coalesce(customers.has_phone, false) as has_phone,
        coalesce(customers.has_address, false) as has_address,
        coalesce(customers.has_email, false) as has_email,
        coalesce(customers.consent_sms, true) as consent_sms,
        coalesce(customers.consent_call, true) as consent_call,
        coalesce(customers.consent_email, true) as consent_email,
        hashed.outstanding_total,
        hashed.overdue_total,
        -- the episode ends when all loans are back at dpd 0: the last such snapshot
        case
            when hashed.max_dpd = 0 then $snapshot_date::date
            else last_clean_history.last_clean_date
        end as last_clean_date,
    from hashed
    left join customers
        on customers.customer_id = hashed.customer_id
    left join variants
        on hashed.hash_bucket >= variants.bucket_from
        and hashed.hash_bucket < variants.bucket_to
    left join last_clean_history
        on last_clean_history.customer_id = hashed.customer_id
)

select * from final
