-- The suites of the latest validation run of $snapshot_date, with the rows each dataset lost to
-- quarantine in that run.
with

quality_runs as (
    select * from quality.runs
    where snapshot_date = $snapshot_date
),

quarantine as (
    select * from quality.quarantine
    where snapshot_date = $snapshot_date
),

latest as (
    select run_id,
    from quality_runs
    order by validated_at desc, run_id desc
    limit 1
),

quarantined as (
    select
        quarantine.dataset,
        count(*) as quarantined_rows,
    from quarantine
    inner join latest
        on latest.run_id = quarantine.run_id
    group by quarantine.dataset
),

final as (
    select
        quality_runs.run_id,
        quality_runs.suite,
        quality_runs.dataset,
        quality_runs.success,
        quality_runs.evaluated,
        quality_runs.failed,
        quality_runs.unexpected_rows,
        cast(coalesce(quarantined.quarantined_rows, 0) as bigint) as quarantined_rows,
    from quality_runs
    inner join latest
        on latest.run_id = quality_runs.run_id
    left join quarantined
        on quarantined.dataset = quality_runs.dataset
    order by quality_runs.suite
)

select * from final
