-- The latest run of $snapshot_date for the report's header: its id, status and times, how long
-- it took (to its end, or, while it runs, to its last validation), and the strategy versions
-- of the action date's decisions. Ids, times and versions only.
with

runs as (
    select * from ops.runs
    where snapshot_date = $snapshot_date
),

latest as (
    select * from runs
    order by started_at desc, run_id desc
    limit 1
),

validated as (
    select max(quality_runs.validated_at) as validated_at,
    from quality.runs as quality_runs
    inner join latest
        on latest.run_id = quality_runs.run_id
),

decisions as (
    select strategy_version from marts.collection_actions where action_date = $action_date
    union
    select strategy_version from marts.suppressed_actions where action_date = $action_date
),

versions as (
    select list(distinct strategy_version order by strategy_version) as strategy_versions,
    from decisions
),

final as (
    select
        latest.run_id,
        latest.status,
        latest.started_at,
        latest.finished_at,
        (epoch(latest.finished_at) - epoch(latest.started_at))::decimal(12,1)
            as duration_seconds,
        (epoch(validated.validated_at) - epoch(latest.started_at))::decimal(12,1)
            as validated_after_seconds,
        versions.strategy_versions,
    from latest
    cross join validated
    cross join versions
)

select * from final
