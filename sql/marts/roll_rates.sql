-- config: materialized=table, scope=book
-- marts.roll_rates at $snapshot_date: where the loans of an earlier snapshot went.
--   DAY:   against the latest committed snapshot before D.
--   MONTH: only when D is a month end, against the previous calendar month's end, if committed.
-- The denominator of a share is every aged loan in from_bucket at the earlier snapshot. Besides
-- a bucket, a loan can end in CLOSED or WRITTEN_OFF (its status at D) or ABSENT (no row at D),
-- so each from_bucket's shares add up to 1. Loans new since the earlier snapshot are not counted.
with

history as (
    select
        snapshot_date,
        loan_id,
        bucket,
        outstanding_principal,
    from marts.loan_aging
    where is_aged
      and snapshot_date = $previous_aging_date

    union

    -- two equalities rather than one `or`: each prunes the scan to its own night
    select
        snapshot_date,
        loan_id,
        bucket,
        outstanding_principal,
    from marts.loan_aging
    where is_aged
      and snapshot_date < $snapshot_date
      and snapshot_date = last_day(cast($snapshot_date as date) - interval 1 month)
),

aging as (
    select * from work.loan_aging
),

periods as (
    select
        'DAY' as period,
        $previous_aging_date::date as previous_snapshot_date,
    where $previous_aging_date::date is not null

    union all

    select
        'MONTH' as period,
        last_day(cast($snapshot_date as date) - interval 1 month) as previous_snapshot_date,
    where cast($snapshot_date as date) = last_day(cast($snapshot_date as date))
        and exists (
            select 1 from history
            where history.snapshot_date = last_day(cast($snapshot_date as date) - interval 1 month)
        )
),

moves as (
    select
        periods.period,
        periods.previous_snapshot_date,
        history.bucket as from_bucket,
        case
            when aging.loan_id is null then 'ABSENT'
            when not aging.is_aged then aging.status
            else aging.bucket
        end as to_bucket,
        history.outstanding_principal as balance,
    from periods
    inner join history
        on history.snapshot_date = periods.previous_snapshot_date
    left join aging
        on aging.loan_id = history.loan_id
),

matrix as (
    select
        period,
        previous_snapshot_date,
        from_bucket,
        to_bucket,
        count(*) as loans,
        sum(balance) as balance,
    from moves
    group by period, previous_snapshot_date, from_bucket, to_bucket
),

final as (
    select
        cast($snapshot_date as date) as snapshot_date,
        period,
        cast(previous_snapshot_date as date) as previous_snapshot_date,
        from_bucket,
        to_bucket,
        cast(loans as bigint) as loans,
        cast(balance as decimal(18,2)) as balance,
        cast(loans / sum(loans) over from_cell as decimal(9,6)) as loan_share,
        case
            when sum(balance) over from_cell = 0 then null
            else cast(balance / sum(balance) over from_cell as decimal(9,6))
        end as balance_share,
    from matrix
    window from_cell as (partition by period, from_bucket)
)

select * from final
