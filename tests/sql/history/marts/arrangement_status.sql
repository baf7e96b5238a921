-- config: materialized=table, scope=customer
-- One row per arrangement in force at the snapshot date: ACTIVE, KEPT, BROKEN or CANCELLED.
-- paid_amount = paid_to_date of the loan at the latest snapshot on or before
-- least(snapshot date, promised_date), minus paid_to_date at the latest snapshot before
-- created_date (payments made on created_date count). Without a snapshot before created_date the
-- earliest snapshot from created_date on is the baseline. Floored at 0 (reversals).
with

arrangements as (
    select * from work.stg_arrangements
),

aging_history as (
    select snapshot_date, loan_id, customer_id, paid_to_date_amount
    from marts.loan_aging
    where snapshot_date < $snapshot_date
      and loan_id in (select loan_id from arrangements)
),

aging_today as (
    select snapshot_date, loan_id, customer_id, paid_to_date_amount
    from work.loan_aging
    where loan_id in (select loan_id from arrangements)
),

paid_history as (
    select * from aging_history
    union all
    select * from aging_today
),

paid as (
    select
        arrangements.arrangement_id,
        arg_max(paid_history.paid_to_date_amount, paid_history.snapshot_date)
            filter (where paid_history.snapshot_date < arrangements.created_date) as paid_before,
        arg_min(paid_history.paid_to_date_amount, paid_history.snapshot_date)
            filter (where paid_history.snapshot_date >= arrangements.created_date) as paid_first_seen,
        arg_max(paid_history.paid_to_date_amount, paid_history.snapshot_date)
            filter (where paid_history.snapshot_date
                <= least($snapshot_date::date, arrangements.promised_date)) as paid_by_promised,
        arg_max(paid_history.customer_id, paid_history.snapshot_date) as customer_id,
    from arrangements
    left join paid_history
        on paid_history.loan_id = arrangements.loan_id
    group by arrangements.arrangement_id
),

measured as (
    select
        arrangements.*,
        paid.customer_id,
        greatest(
            coalesce(paid.paid_by_promised - coalesce(paid.paid_before, paid.paid_first_seen), 0),
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
