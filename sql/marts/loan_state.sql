-- config: materialized=table, scope=customer
-- marts.loan_state after $snapshot_date: every loan ever seen, with its latest row and the
-- months (of the last 12) in which it was past due. The previous night's version plus tonight's
-- aging: loans off tonight's book keep what they had.
with

previous as (
    select * from marts.loan_state
    where snapshot_date = $previous_snapshot_date
),

today as (
    select loan_id, customer_id, dpd, bucket, paid_to_date_amount
    from work.loan_aging
),

final as (
    select
        $snapshot_date::date as snapshot_date,
        coalesce(today.loan_id, previous.loan_id) as loan_id,
        coalesce(today.customer_id, previous.customer_id) as customer_id,
        case
            when today.loan_id is not null then $snapshot_date::date
            else previous.last_seen_date
        end as last_seen_date,
        coalesce(today.dpd, previous.last_dpd) as last_dpd,
        coalesce(today.bucket, previous.last_bucket) as last_bucket,
        coalesce(today.paid_to_date_amount, previous.last_paid_to_date_amount)
            as last_paid_to_date_amount,
        list_sort(list_distinct(list_filter(
            coalesce(previous.delinquent_months, []::date[])
                || case
                    when today.dpd > 0 then [date_trunc('month', $snapshot_date::date)::date]
                    else []::date[]
                end,
            lambda month: month >= (date_trunc('month', $snapshot_date::date) - interval 11 month)::date
        ))) as delinquent_months,
    from today
    full outer join previous
        on previous.loan_id = today.loan_id
)

select * from final
