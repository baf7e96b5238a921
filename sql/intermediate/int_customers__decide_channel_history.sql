-- config: materialized=table, scope=customer
-- Customer x channel: what was published before this action date (marts.contact_state). last_action_date drives the
-- "every N days" cadences; first_episode_action_date (the first action of the current delinquency
-- episode, i.e. from a snapshot after the customer's last all-clean snapshot) drives "once per
-- episode" and a stage's requires_prior.
with

published as (
    select customer_id, channel, last_action_date, episode_first_action_date
    from marts.contact_state
    where snapshot_date = $previous_snapshot_date
),

customers as (
    select customer_id, last_clean_date from work.int_customers__decide
),

final as (
    select
        published.customer_id,
        published.channel,
        published.last_action_date,
        -- back at dpd 0 today: the episode is over (the next one starts afresh)
        case
            when customers.last_clean_date is distinct from $snapshot_date::date
                then published.episode_first_action_date
        end as first_episode_action_date,
    from published
    inner join customers
        on customers.customer_id = published.customer_id
)

select * from final
