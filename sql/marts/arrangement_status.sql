-- config: materialized=table, scope=customer
-- One row per arrangement in force at the snapshot date: ACTIVE, KEPT, BROKEN or CANCELLED.
-- paid_amount = what was paid against the promise (int_arrangements__measured), floored at 0
-- (reversals).
with

arrangements as (
    select * from work.stg_arrangements
),

paid as (
    select * from work.int_arrangements__measured
),

measured as (
    select
        arrangements.*,
        paid.customer_id,
        greatest(
            coalesce(paid.paid_by_promised_amount - paid.baseline_paid_amount, 0),
            0
        )::decimal(18,2) as paid_amount,
    from arrangements
    left join paid
        on paid.arrangement_id = arrangements.arrangement_id
),

final as (
    select
        $snapshot_date::date as snapshot_date,
        arrangement_id,
        loan_id,
        customer_id,
        kind,
        created_date,
        promised_date,
        promised_amount,
        paid_amount,
        case
            when coalesce(cancelled, false) then 'CANCELLED'
            when paid_amount >= promised_amount then 'KEPT'
            -- the snapshot is the end of the day: promised_date itself has passed unpaid
            when $snapshot_date::date >= promised_date then 'BROKEN'
            else 'ACTIVE'
        end as status,
    from measured
)

select * from final
