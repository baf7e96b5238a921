-- config: materialized=view, scope=customer
-- Promises and plans in force at D (a full snapshot: landed, or carried forward by ingest).
with

source as (
    select * from work.arrangements
),

final as (
    select
        snapshot_date,
        arrangement_id,
        loan_id,
        kind,
        created_date,
        promised_date,
        promised_amount,
        cancelled,
    from source
)

select * from final
