-- config: materialized=table, scope=customer
-- Each loan's row at its previous snapshot: the latest committed snapshot before $snapshot_date
-- that holds the loan, as marts.loan_state recorded it after the previous night.
-- previous_bucket_rank places the recorded bucket in today's bucket table; a label that the
-- table no longer has is placed by the previous dpd instead.
with

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

previous as (
    select
        state.last_seen_date as snapshot_date,
        state.loan_id,
        state.last_dpd as dpd,
        state.last_bucket as bucket,
    from marts.loan_state as state
    semi join loans
        on loans.loan_id = state.loan_id
    where state.snapshot_date = $previous_snapshot_date
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
