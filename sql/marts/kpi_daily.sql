-- config: materialized=table, scope=book
-- marts.kpi_daily at $snapshot_date: per bucket of the configured table (every bucket, zeros
-- included), the aged loans now in it, their balances, and how many arrived there as NEW,
-- CURE (only the lowest bucket) or ROLL_FORWARD. CLOSED and WRITTEN_OFF loans are not counted.
with

aging as (
    select * from work.loan_aging
    where is_aged
),

buckets as (
    select * from work.cfg_buckets
),

per_bucket as (
    select
        bucket,
        count(*) as loans,
        sum(outstanding_principal) as outstanding_principal,
        sum(overdue_amount) as overdue_amount,
        count(*) filter (where transition = 'NEW') as new_loans,
        count(*) filter (where transition = 'CURE') as cured_loans,
        count(*) filter (where transition = 'ROLL_FORWARD') as rolled_forward_loans,
    from aging
    group by bucket
),

final as (
    select
        cast($snapshot_date as date) as snapshot_date,
        buckets.label as bucket,
        cast(coalesce(per_bucket.loans, 0) as bigint) as loans,
        cast(coalesce(per_bucket.outstanding_principal, 0) as decimal(18,2)) as outstanding_principal,
        cast(coalesce(per_bucket.overdue_amount, 0) as decimal(18,2)) as overdue_amount,
        cast(coalesce(per_bucket.new_loans, 0) as bigint) as new_loans,
        cast(coalesce(per_bucket.cured_loans, 0) as bigint) as cured_loans,
        cast(coalesce(per_bucket.rolled_forward_loans, 0) as bigint) as rolled_forward_loans,
    from buckets
    left join per_bucket
        on per_bucket.bucket = buckets.label
    order by buckets.rank
)

select * from final
