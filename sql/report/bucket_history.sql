-- Loans and balance per bucket for the last $snapshots committed snapshots up to $snapshot_date.
with

kpi_daily as (
    select * from marts.kpi_daily
    where snapshot_date <= $snapshot_date
),

dates as (
    select distinct snapshot_date,
    from kpi_daily
    order by snapshot_date desc
    limit $snapshots
),

final as (
    select
        kpi_daily.snapshot_date,
        kpi_daily.bucket,
        kpi_daily.loans,
        kpi_daily.outstanding_principal,
    from kpi_daily
    inner join dates
        on dates.snapshot_date = kpi_daily.snapshot_date
    order by kpi_daily.snapshot_date, kpi_daily.bucket
)

select * from final
