-- config: materialized=table, scope=customer
-- Each loan's row at its previous snapshot: the latest committed snapshot before $snapshot_date
-- that holds the loan. Most loans are in the latest earlier snapshot; only the others (back
-- after a gap in their own history) are looked up further back.
-- previous_bucket_rank places the recorded bucket in today's bucket table; a label that the
-- table no longer has is placed by the previous dpd instead.
with

history as (
    select
        snapshot_date,
        loan_id,
        dpd,
        bucket,
    from marts.loan_aging
    where snapshot_date < $snapshot_date
),

loans as (
    select loan_id from work.stg_loans
),

buckets as (
    select
        label,
        rank,
        min_dpd,
        coalesce(max_dpd, 2147483647) as max_dpd,
    from work.cfg_buckets
),

latest as (
    select history.*
    from history
    semi join loans
        on loans.loan_id = history.loan_id
    where history.snapshot_date = (select max(snapshot_date) from history)
),

not_in_latest as (
    select loans.loan_id
    from loans
    anti join latest
        on latest.loan_id = loans.loan_id
),

earlier as (
    select history.*
    from history
    semi join not_in_latest
        on not_in_latest.loan_id = history.loan_id
    qualify row_number() over (partition by history.loan_id order by history.snapshot_date desc) = 1
),

previous as (
    select * from latest
    union all
    select * from earlier
),

final as (
    select
        previous.loan_id,
        previous.snapshot_date as previous_snapshot_date,
        previous.bucket as previous_bucket,
        coalesce(
            by_label.rank,
            (select by_dpd.rank from buckets as by_dpd
             where previous.dpd between by_dpd.min_dpd and by_dpd.max_dpd)
        ) as previous_bucket_rank,
    from previous
    left join buckets as by_label
        on by_label.label = previous.bucket
)

select * from final
