-- config: materialized=table, scope=book
-- marts.contact_state after $snapshot_date: per customer and channel, the latest action
-- published, and the first one of the delinquency episode open at the snapshot (none once an
-- aging snapshot finds the customer back at dpd 0: the next episode starts afresh).
with

previous as (
    select * from marts.contact_state
    where snapshot_date = $previous_snapshot_date
),

published as (
    select
        customer_id,
        channel,
        max(action_date) as last_action_date,
        min(action_date) as first_action_date,
    from work.collection_actions
    group by customer_id, channel
),

-- whether tonight is an aging snapshot, and who was past due at it
aged as (
    select count(*) > 0 as is_aging_snapshot from work.loan_aging
),

delinquent as (
    select customer_id
    from work.loan_aging
    group by customer_id
    having bool_or(is_aged and dpd > 0)
),

merged as (
    select
        coalesce(published.customer_id, previous.customer_id) as customer_id,
        coalesce(published.channel, previous.channel) as channel,
        greatest(previous.last_action_date, published.last_action_date) as last_action_date,
        -- a previous first action is only there while that episode was open
        least(previous.episode_first_action_date, published.first_action_date)
            as episode_first_action_date,
    from published
    full outer join previous
        on previous.customer_id = published.customer_id
        and previous.channel = published.channel
),

final as (
    select
        $snapshot_date::date as snapshot_date,
        merged.customer_id,
        merged.channel,
        merged.last_action_date,
        -- an aging snapshot at which the customer is not past due ends the episode
        case
            when not aged.is_aging_snapshot or delinquent.customer_id is not null
                then merged.episode_first_action_date
        end as episode_first_action_date,
    from merged
    cross join aged
    left join delinquent
        on delinquent.customer_id = merged.customer_id
)

select * from final
