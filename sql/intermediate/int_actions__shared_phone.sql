-- config: materialized=table, scope=book
-- One CALL and one SMS a day per phone number, across customers. Customers who share a number
-- (relatives, a household's landline, one phone given for several borrowers) would otherwise
-- each get their own action, and the number the cn profile's 6 call attempts and its one SMS
-- once per customer. Among a channel's actions that passed the customer-level checks and go to
-- the same number, the one of the highest priority is kept (risk score, then overdue amount,
-- then customer_id: the order of the capacity ranking, so the same one in every kind of run);
-- the others get reason SHARED_PHONE and use no capacity. LETTER, VISIT, EMAIL and LEGAL stay
-- per person. The number is known only by phone_fingerprint, which int_actions__capacity
-- leaves out: no mart carries it.
with

actions as (
    select * from work.int_actions__decide
),

eligible as (
    select
        actions.*,
        actions.reason is null
        and actions.channel in ('SMS', 'CALL')
        and actions.phone_fingerprint is not null as is_per_number,
    from actions
),

ranked as (
    select
        eligible.*,
        row_number() over (
            partition by eligible.channel, eligible.phone_fingerprint, eligible.is_per_number
            order by eligible.risk_score desc, eligible.overdue_amount desc, eligible.customer_id
        ) as number_rank,
        count(*) over (
            partition by eligible.channel, eligible.phone_fingerprint, eligible.is_per_number
        ) as number_customers,
    from eligible
),

final as (
    select
        action_id,
        action_date,
        snapshot_date,
        customer_id,
        loan_ids,
        primary_loan_id,
        channel,
        stage,
        source,
        case when is_per_number and number_rank > 1 then 'SHARED_PHONE' else reason end
            as reason,
        case
            when is_per_number and number_rank > 1
                then 'number shared by ' || number_customers || ' customers: one ' || channel
                    || ' a day per number, kept for the highest priority'
            else detail
        end as detail,
        priority,
        risk_score,
        overdue_amount,
        outstanding_amount,
        window_start,
        window_end,
        timezone,
        max_attempts,
        template,
        strategy_version,
        strategy_variant,
        phone_fingerprint,
    from ranked
)

select * from final
