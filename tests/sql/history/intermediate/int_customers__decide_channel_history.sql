-- config: materialized=table, scope=customer
-- Customer x channel: what was published before this action date. last_action_date drives the
-- "every N days" cadences; first_episode_action_date (the first action of the current delinquency
-- episode, i.e. from a snapshot after the customer's last all-clean snapshot) drives "once per
-- episode" and a stage's requires_prior.
with

published as (
    select customer_id, channel, action_date, snapshot_date
    from marts.collection_actions
    where action_date < $action_date
),

customers as (
    select customer_id, last_clean_date from work.int_customers__decide
),

final as (
    select
        published.customer_id,
        published.channel,
        max(published.action_date) as last_action_date,
        min(published.action_date) filter (
            where customers.last_clean_date is null
               or published.snapshot_date > customers.last_clean_date
        ) as first_episode_action_date,
    from published
    inner join customers
        on customers.customer_id = published.customer_id
    group by published.customer_id, published.channel
)

select * from final
