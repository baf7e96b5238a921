-- config: materialized=table, scope=book
-- marts.loan_action_state after $snapshot_date: per loan, stage and channel, the latest action
-- published that covered the loan ("once per installment" reminders).
with

previous as (
    select * from marts.loan_action_state
    where snapshot_date = $previous_snapshot_date
),

published as (
    select loan_id, stage, channel, max(action_date) as last_action_date
    from (
        select unnest(loan_ids) as loan_id, stage, channel, action_date
        from work.collection_actions
    )
    group by loan_id, stage, channel
),

final as (
    select
        $snapshot_date::date as snapshot_date,
        coalesce(published.loan_id, previous.loan_id) as loan_id,
        coalesce(published.stage, previous.stage) as stage,
        coalesce(published.channel, previous.channel) as channel,
        greatest(previous.last_action_date, published.last_action_date) as last_action_date,
    from published
    full outer join previous
        on previous.loan_id = published.loan_id
        and previous.stage = published.stage
        and previous.channel = published.channel
)

select * from final
