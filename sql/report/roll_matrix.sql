-- The day-on-day roll-rate matrix of $snapshot_date.
with

roll_rates as (
    select * from marts.roll_rates
    where snapshot_date = $snapshot_date
        and period = 'DAY'
),

final as (
    select
        previous_snapshot_date,
        from_bucket,
        to_bucket,
        loans,
        balance,
        loan_share,
    from roll_rates
    order by from_bucket, to_bucket
)

select * from final
