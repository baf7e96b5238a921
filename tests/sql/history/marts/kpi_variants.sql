-- config: materialized=table, scope=book
-- KPIs of snapshot D, stored in marts.kpi_variants: one row for all customers ('all') and one per
-- strategy variant. D comes from this run (work.*), the previous snapshot from marts.*, so the
-- row is what the warehouse will say once the commit lands. Formulas and their edge cases are
-- written down in docs/report.md. Rates are null when their
-- denominator is 0. A loan or arrangement takes the variant its customer was decided under at the
-- previous snapshot (collection or suppressed actions); customers without a decision there count
-- only in 'all'. Calls carry their own strategy_variant.
with

previous as (
    select max(snapshot_date) as previous_snapshot_date,
    from marts.loan_aging
    where snapshot_date < $snapshot_date
),

aging as (
    select snapshot_date, loan_id, customer_id, is_aged, dpd, paid_to_date_amount,
    from marts.loan_aging
    where snapshot_date = (select previous_snapshot_date from previous)
    union all
    select snapshot_date, loan_id, customer_id, is_aged, dpd, paid_to_date_amount,
    from work.loan_aging
),

arrangement_status as (
    select * from marts.arrangement_status
    where snapshot_date = (select previous_snapshot_date from previous)
    union all by name
    select * from work.arrangement_status
),

collection_actions as (
    -- the calls of D were published by the previous run; the actions of D + 1 by this one
    select * from marts.collection_actions
    where action_date <= $snapshot_date
    union all by name
    select * from work.collection_actions
),

suppressed_actions as (
    select * from marts.suppressed_actions
    where snapshot_date = (select previous_snapshot_date from previous)
),

contact_events as (
    -- An event is counted once even if it landed on two dates; this run's copy of D's events
    -- replaces what an earlier run of D landed.
    select * from work.stg_contact_events
    where is_this_run or snapshot_date <> $snapshot_date
    qualify row_number() over (partition by event_id order by snapshot_date) = 1
),

decisions as (
    select
        collection_actions.customer_id,
        collection_actions.strategy_variant,
    from collection_actions
    inner join previous
        on collection_actions.snapshot_date = previous.previous_snapshot_date

    union all

    select
        suppressed_actions.customer_id,
        suppressed_actions.strategy_variant,
    from suppressed_actions
    inner join previous
        on suppressed_actions.snapshot_date = previous.previous_snapshot_date
),

customer_variants as (
    select
        customer_id,
        min(strategy_variant) as strategy_variant,
    from decisions
    group by customer_id
),

loan_moves as (
    select
        customer_variants.strategy_variant,
        before.is_aged and before.dpd > 0 as was_delinquent,
        coalesce(now.is_aged and now.dpd = 0, false) as is_cured,
        -- Loans that left the book since the previous snapshot collected nothing we can see.
        greatest(
            coalesce(now.paid_to_date_amount, before.paid_to_date_amount)
                - before.paid_to_date_amount,
            0
        ) as collected_amount,
    from previous
    inner join aging as before
        on before.snapshot_date = previous.previous_snapshot_date
    left join aging as now
        on now.loan_id = before.loan_id
        and now.snapshot_date = $snapshot_date
    left join customer_variants
        on customer_variants.customer_id = before.customer_id
),

resolved_arrangements as (
    select
        customer_variants.strategy_variant,
        now.status,
    from arrangement_status as now
    left join previous
        on true
    left join arrangement_status as before
        on before.arrangement_id = now.arrangement_id
        and before.snapshot_date = previous.previous_snapshot_date
    left join aging as loan_now
        on loan_now.loan_id = now.loan_id
        and loan_now.snapshot_date = now.snapshot_date
    left join customer_variants
        on customer_variants.customer_id = coalesce(now.customer_id, loan_now.customer_id)
    where now.snapshot_date = $snapshot_date
        and now.status in ('KEPT', 'BROKEN')
        and (before.status is null or before.status not in ('KEPT', 'BROKEN'))
),

calls as (
    select
        action_id,
        customer_id,
        action_date,
        timezone,
        strategy_variant,
    from collection_actions
    where action_date = $snapshot_date
        and channel = 'CALL'
),

call_answers as (
    -- Two equi-joins rather than one join on `a or b`, which DuckDB would run as a nested loop.
    select
        calls.action_id,
        contact_events.outcome,
    from calls
    inner join contact_events
        on contact_events.action_id = calls.action_id

    union all

    select
        calls.action_id,
        contact_events.outcome,
    from calls
    inner join contact_events
        on contact_events.customer_id = calls.customer_id
        and contact_events.channel = 'CALL'
        and cast(timezone(calls.timezone, contact_events.occurred_at) as date) = calls.action_date
),

call_results as (
    select
        calls.strategy_variant,
        coalesce(bool_or(call_answers.outcome in
            ('CONNECTED', 'PROMISE', 'REFUSED', 'DISPUTE', 'WRONG_PARTY')), false) as is_contacted,
        coalesce(bool_or(call_answers.outcome in
            ('CONNECTED', 'PROMISE', 'REFUSED', 'DISPUTE')), false) as is_right_party,
        coalesce(bool_or(call_answers.outcome = 'PROMISE'), false) as is_promise,
    from calls
    left join call_answers
        on call_answers.action_id = calls.action_id
    group by calls.action_id, calls.strategy_variant
),

next_actions as (
    select
        customer_id,
        strategy_variant,
    from collection_actions
    where action_date = cast($snapshot_date as date) + 1
),

-- Each fact once under its variant and once under 'all'.
loan_moves_by_variant as (
    select * from loan_moves where strategy_variant is not null
    union all
    select * replace ('all' as strategy_variant) from loan_moves
),

arrangements_by_variant as (
    select * from resolved_arrangements where strategy_variant is not null
    union all
    select * replace ('all' as strategy_variant) from resolved_arrangements
),

calls_by_variant as (
    select * from call_results
    union all
    select * replace ('all' as strategy_variant) from call_results
),

next_actions_by_variant as (
    select * from next_actions
    union all
    select * replace ('all' as strategy_variant) from next_actions
),

variants as (
    select 'all' as strategy_variant
    union
    select strategy_variant from loan_moves_by_variant
    union
    select strategy_variant from arrangements_by_variant
    union
    select strategy_variant from calls_by_variant
    union
    select strategy_variant from next_actions_by_variant
),

cures as (
    select
        strategy_variant,
        count(*) filter (where was_delinquent) as delinquent_loans,
        count(*) filter (where was_delinquent and is_cured) as cured_loans,
        sum(collected_amount) as collected_amount,
    from loan_moves_by_variant
    group by strategy_variant
),

promises as (
    select
        strategy_variant,
        count(*) filter (where status = 'KEPT') as kept_arrangements,
        count(*) filter (where status = 'BROKEN') as broken_arrangements,
    from arrangements_by_variant
    group by strategy_variant
),

contacts as (
    select
        strategy_variant,
        count(*) as call_actions,
        count(*) filter (where is_contacted) as contacted_calls,
        count(*) filter (where is_right_party) as right_party_calls,
        count(*) filter (where is_promise) as promise_calls,
    from calls_by_variant
    group by strategy_variant
),

volumes as (
    select
        strategy_variant,
        count(*) as next_actions,
        count(distinct customer_id) as next_customers,
    from next_actions_by_variant
    group by strategy_variant
),

counted as (
    select
        variants.strategy_variant,
        coalesce(cures.delinquent_loans, 0) as delinquent_loans,
        coalesce(cures.cured_loans, 0) as cured_loans,
        coalesce(cures.collected_amount, 0) as collected_amount,
        coalesce(promises.kept_arrangements, 0) as kept_arrangements,
        coalesce(promises.broken_arrangements, 0) as broken_arrangements,
        coalesce(contacts.call_actions, 0) as call_actions,
        coalesce(contacts.contacted_calls, 0) as contacted_calls,
        coalesce(contacts.right_party_calls, 0) as right_party_calls,
        coalesce(contacts.promise_calls, 0) as promise_calls,
        coalesce(volumes.next_actions, 0) as next_actions,
        coalesce(volumes.next_customers, 0) as next_customers,
    from variants
    left join cures
        on cures.strategy_variant = variants.strategy_variant
    left join promises
        on promises.strategy_variant = variants.strategy_variant
    left join contacts
        on contacts.strategy_variant = variants.strategy_variant
    left join volumes
        on volumes.strategy_variant = variants.strategy_variant
),

final as (
    select
        cast($snapshot_date as date) as snapshot_date,
        counted.strategy_variant,
        previous.previous_snapshot_date,
        cast(counted.delinquent_loans as bigint) as delinquent_loans,
        cast(counted.cured_loans as bigint) as cured_loans,
        cast(round(counted.cured_loans / nullif(counted.delinquent_loans, 0), 6) as decimal(9,6))
            as cure_rate,
        cast(counted.collected_amount as decimal(18,2)) as collected_amount,
        cast(counted.kept_arrangements as bigint) as kept_arrangements,
        cast(counted.broken_arrangements as bigint) as broken_arrangements,
        cast(round(counted.kept_arrangements
            / nullif(counted.kept_arrangements + counted.broken_arrangements, 0), 6)
            as decimal(9,6)) as promise_kept_rate,
        cast(counted.call_actions as bigint) as call_actions,
        cast(counted.contacted_calls as bigint) as contacted_calls,
        cast(counted.right_party_calls as bigint) as right_party_calls,
        cast(counted.promise_calls as bigint) as promise_calls,
        cast(round(counted.contacted_calls / nullif(counted.call_actions, 0), 6) as decimal(9,6))
            as contact_rate,
        cast(round(counted.right_party_calls / nullif(counted.call_actions, 0), 6) as decimal(9,6))
            as right_party_contact_rate,
        cast(round(counted.promise_calls / nullif(counted.right_party_calls, 0), 6) as decimal(9,6))
            as ptp_rate,
        cast(counted.next_actions as bigint) as next_actions,
        cast(counted.next_customers as bigint) as next_customers,
    from counted
    left join previous
        on true
    order by
        counted.strategy_variant = 'all' desc,
        counted.strategy_variant = 'champion' desc,
        counted.strategy_variant
)

select * from final
