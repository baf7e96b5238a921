-- The latest run of $snapshot_date in ops.runs: its id and result (no settings, no inputs).
with

runs as (
    select * from ops.runs
    where snapshot_date = $snapshot_date
),

final as (
    select
        run_id,
        status,
    from runs
    order by started_at desc, run_id desc
    limit 1
)

select * from final
