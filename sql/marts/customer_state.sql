-- config: materialized=table, scope=customer
-- marts.customer_state after $snapshot_date: every customer ever seen in the aging. A customer
-- is delinquent at a snapshot when some aged loan of theirs is past due; the episode began after
-- the latest aging snapshot at which they were not (absent from the book counts as not
-- delinquent). A night without aged loans is no aging snapshot: the state carries over.
with

previous as (
    select * from marts.customer_state
    where snapshot_date = $previous_snapshot_date
),

today as (
    select
        customer_id,
        bool_or(is_aged and dpd > 0) as is_delinquent,
        bool_or(status in ('ACTIVE', 'CHARGED_OFF')) as is_on_book,
    from work.loan_aging
    group by customer_id
),

aged as (
    select count(*) > 0 as is_aging_snapshot from work.loan_aging
),

final as (
    select
        $snapshot_date::date as snapshot_date,
        coalesce(today.customer_id, previous.customer_id) as customer_id,
        case
            when aged.is_aging_snapshot then coalesce(today.is_delinquent, false)
            else previous.is_delinquent
        end as is_delinquent,
        case
            when not aged.is_aging_snapshot then previous.last_clean_date
            when not coalesce(today.is_delinquent, false) then $snapshot_date::date
            when previous.is_delinquent then previous.last_clean_date
            -- not delinquent (or not there) at the previous aging snapshot: began after it
            else $previous_aging_date::date
        end as last_clean_date,
        case
            when today.is_on_book then $snapshot_date::date
            else previous.last_on_book_date
        end as last_on_book_date,
    from today
    full outer join previous
        on previous.customer_id = today.customer_id
    cross join aged
)

select * from final
