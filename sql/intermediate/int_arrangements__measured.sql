-- config: materialized=table, scope=customer
-- What each arrangement in force has been paid against its promise (docs/strategy.md,
-- "Arrangements"): paid_by_promised - baseline, where
--   baseline          paid_to_date of the loan at the latest snapshot before created_date
--                     (payments made on created_date count), else at the earliest from it on;
--   paid_by_promised  paid_to_date at the latest snapshot on or before least(D, promised_date).
-- An arrangement already measured last night (same loan and dates) carries its figures forward
-- from marts.arrangement_state. A new or changed one is measured from the loan's committed rows
-- since 31 days before its created_date, its latest row (marts.loan_state) and tonight's.
with

arrangements as (
    select arrangement_id, loan_id, created_date, promised_date
    from work.stg_arrangements
),

previous as (
    select * from marts.arrangement_state
    where snapshot_date = $previous_snapshot_date
),

today as (
    select loan_id, customer_id, paid_to_date_amount
    from work.loan_aging
    where loan_id in (select loan_id from arrangements)
),

carried as (
    select
        arrangements.arrangement_id,
        arrangements.loan_id,
        arrangements.promised_date,
        previous.customer_id,
        previous.baseline_paid_amount,
        previous.paid_by_promised_amount,
    from arrangements
    inner join previous
        on previous.arrangement_id = arrangements.arrangement_id
        and previous.loan_id = arrangements.loan_id
        and previous.created_date = arrangements.created_date
        and previous.promised_date = arrangements.promised_date
),

carried_measured as (
    select
        carried.arrangement_id,
        coalesce(today.customer_id, carried.customer_id) as customer_id,
        -- no baseline yet: the loan had no row since created_date, so tonight's is the first
        coalesce(carried.baseline_paid_amount, today.paid_to_date_amount) as baseline_paid_amount,
        case
            when today.loan_id is not null and $snapshot_date::date <= carried.promised_date
                then today.paid_to_date_amount
            else carried.paid_by_promised_amount
        end as paid_by_promised_amount,
    from carried
    left join today
        on today.loan_id = carried.loan_id
),

fresh as (
    select arrangements.*
    from arrangements
    anti join carried
        on carried.arrangement_id = arrangements.arrangement_id
),

fresh_history as (
    select snapshot_date, loan_id, customer_id, paid_to_date_amount
    from marts.loan_aging
    where snapshot_date < $snapshot_date
      -- 31 days before the earliest created_date of the fresh arrangements (the step binds it)
      and snapshot_date >= $arrangements_since
      and loan_id in (select loan_id from fresh)

    union

    select last_seen_date, loan_id, customer_id, last_paid_to_date_amount
    from marts.loan_state
    where snapshot_date = $previous_snapshot_date
      and loan_id in (select loan_id from fresh)

    union

    select $snapshot_date::date, loan_id, customer_id, paid_to_date_amount
    from today
    where loan_id in (select loan_id from fresh)
),

fresh_measured as (
    select
        fresh.arrangement_id,
        arg_max(fresh_history.customer_id, fresh_history.snapshot_date) as customer_id,
        coalesce(
            arg_max(fresh_history.paid_to_date_amount, fresh_history.snapshot_date)
                filter (where fresh_history.snapshot_date < fresh.created_date),
            arg_min(fresh_history.paid_to_date_amount, fresh_history.snapshot_date)
                filter (where fresh_history.snapshot_date >= fresh.created_date)
        ) as baseline_paid_amount,
        arg_max(fresh_history.paid_to_date_amount, fresh_history.snapshot_date)
            filter (where fresh_history.snapshot_date
                <= least($snapshot_date::date, fresh.promised_date)) as paid_by_promised_amount,
    from fresh
    left join fresh_history
        on fresh_history.loan_id = fresh.loan_id
    group by fresh.arrangement_id
),

measured as (
    select * from carried_measured
    union all
    select * from fresh_measured
),

broken_before as (
    select arrangement_id
    from previous
    group by arrangement_id
    having bool_or(was_broken)
),

final as (
    select
        measured.arrangement_id,
        measured.customer_id,
        measured.baseline_paid_amount,
        measured.paid_by_promised_amount,
        broken_before.arrangement_id is not null as was_broken_before,
    from measured
    left join broken_before
        on broken_before.arrangement_id = measured.arrangement_id
)

select * from final
