-- Loans and balances per bucket at $snapshot_date, with the change against the previous committed
-- snapshot (null when there is none). A bucket present on only one side counts as 0 on the other.
with

kpi_daily as (
    select * from marts.kpi_daily
),

previous as (
    select max(snapshot_date) as previous_snapshot_date,
    from kpi_daily
    where snapshot_date < $snapshot_date
),

now as (
    select * from kpi_daily
    where snapshot_date = $snapshot_date
),

before as (
    select kpi_daily.*
    from kpi_daily
    inner join previous
        on kpi_daily.snapshot_date = previous.previous_snapshot_date
),

final as (
    select
        coalesce(now.bucket, before.bucket) as bucket,
        previous.previous_snapshot_date,
        cast(coalesce(now.loans, 0) as bigint) as loans,
        case when previous.previous_snapshot_date is not null then
            cast(coalesce(now.loans, 0) - coalesce(before.loans, 0) as bigint)
        end as loans_change,
        cast(coalesce(now.outstanding_principal, 0) as decimal(18,2)) as outstanding_principal,
        case when previous.previous_snapshot_date is not null then
            cast(coalesce(now.outstanding_principal, 0) - coalesce(before.outstanding_principal, 0)
                as decimal(18,2))
        end as outstanding_principal_change,
        cast(coalesce(now.overdue_amount, 0) as decimal(18,2)) as overdue_amount,
        case when previous.previous_snapshot_date is not null then
            cast(coalesce(now.overdue_amount, 0) - coalesce(before.overdue_amount, 0)
                as decimal(18,2))
        end as overdue_amount_change,
    from now
    full outer join before
        on before.bucket = now.bucket
    left join previous
        on true
)

select * from final
