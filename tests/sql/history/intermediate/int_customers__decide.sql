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
-- Only customers delinquent today need its start. Earlier snapshots are ranked newest first; a
-- customer's "dirty" snapshots (some loan at dpd > 0) that form an unbroken run 1..k from the
-- newest mean the last clean snapshot is rank k + 1 (none: delinquent since history began).
-- This reads only delinquent history rows, whatever the length of the history.
delinquent_today as (
    select customer_id from loans group by customer_id having max(dpd) > 0
),

snapshots as (
    select snapshot_date, row_number() over (order by snapshot_date desc) as snapshot_rank
    from (select distinct snapshot_date from marts.loan_aging where snapshot_date < $snapshot_date)
),

dirty as (
    select distinct history.customer_id, history.snapshot_date
    from marts.loan_aging as history
    where history.snapshot_date < $snapshot_date
      and history.is_aged
      and history.dpd > 0
      and history.customer_id in (select customer_id from delinquent_today)
),

dirty_ranked as (
    select
        dirty.customer_id,
        snapshots.snapshot_rank,
        row_number() over (partition by dirty.customer_id order by snapshots.snapshot_rank)
            as run_position,
    from dirty
    inner join snapshots
        on snapshots.snapshot_date = dirty.snapshot_date
),

dirty_runs as (
    select
        delinquent_today.customer_id,
        coalesce(count(dirty_ranked.snapshot_rank) filter (
            where dirty_ranked.snapshot_rank = dirty_ranked.run_position
        ), 0) as newest_dirty_run,
    from delinquent_today
    left join dirty_ranked
        on dirty_ranked.customer_id = delinquent_today.customer_id
    group by delinquent_today.customer_id
),

last_clean_history as (
    select dirty_runs.customer_id, snapshots.snapshot_date as last_clean_date
    from dirty_runs
    inner join snapshots
        on snapshots.snapshot_rank = dirty_runs.newest_dirty_run + 1
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
