-- The rules that failed in the latest validation run of $snapshot_date, per suite, with the
-- rows each found: names and counts only (the example keys in details_json stay out).
with

quality_runs as (
    select * from quality.runs
    where snapshot_date = $snapshot_date
),

latest as (
    select run_id,
    from quality_runs
    order by validated_at desc, run_id desc
    limit 1
),

outcomes as (
    select
        quality_runs.suite,
        unnest(
            from_json(
                coalesce(quality_runs.details_json, '[]'),
                '[{"rule": "VARCHAR", "success": "BOOLEAN", "unexpected_count": "BIGINT"}]'
            )
        ) as outcome,
    from quality_runs
    inner join latest
        on latest.run_id = quality_runs.run_id
    where not quality_runs.success
),

final as (
    select
        suite,
        outcome.rule as rule,
        coalesce(outcome.unexpected_count, 0) as unexpected_rows,
    from outcomes
    where not outcome.success
    order by suite, rule
)

select * from final
