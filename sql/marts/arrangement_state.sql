-- config: materialized=table, scope=customer
-- marts.arrangement_state after $snapshot_date: every arrangement ever seen (per loan it was
-- recorded on), with the figures its status is measured by and whether it was ever BROKEN.
-- Arrangements no longer in force keep their row: broken promises count in the risk score.
with

previous as (
    select * from marts.arrangement_state
    where snapshot_date = $previous_snapshot_date
),

status as (
    select * from work.arrangement_status
),

measured as (
    select * from work.int_arrangements__measured
),

today as (
    select
        status.arrangement_id,
        status.loan_id,
        measured.customer_id,
        status.created_date,
        status.promised_date,
        measured.baseline_paid_amount,
        measured.paid_by_promised_amount,
        -- broken while recorded on this loan (the risk score counts per loan)
        coalesce(previous.was_broken, false) or status.status = 'BROKEN' as was_broken,
    from status
    inner join measured
        on measured.arrangement_id = status.arrangement_id
    left join previous
        on previous.arrangement_id = status.arrangement_id
        and previous.loan_id = status.loan_id
),

kept as (
    select previous.* exclude (snapshot_date)
    from previous
    anti join today
        on today.arrangement_id = previous.arrangement_id
        and today.loan_id = previous.loan_id
),

final as (
    select $snapshot_date::date as snapshot_date, * from today
    union all by name
    select $snapshot_date::date as snapshot_date, * from kept
)

select * from final
