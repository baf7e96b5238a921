-- config: materialized=table, scope=book
-- The collectors' figures of snapshot D per agent and agency (CONTRACT section 11), what a
-- lender pays them by; formulas in docs/allocation.md. Accounts are those each assignee held
-- during day D (the placements of the previous night's marts.assignment_state). A customer's
-- money and cure are credited once: to the agency holding it, else to the assignee of its most
-- severe channel (LEGAL, VISIT, CALL). Contacts count on the channel the assignee works.
with

held as (
    select * from marts.assignment_state
    where snapshot_date = $previous_snapshot_date
),

rates as (
    select * from work.alloc_rates
),

aging as (
    select snapshot_date, loan_id, customer_id, is_aged, dpd, paid_to_date_amount,
    from marts.loan_aging
    where snapshot_date = $previous_aging_date
    union all
    select snapshot_date, loan_id, customer_id, is_aged, dpd, paid_to_date_amount,
    from work.loan_aging
),

contact_events as (
    -- as marts.kpi_variants: each event once, this run's copy of D's events; none landed
    -- after D (a rerun of an older night must not count the later nights' events)
    select * from work.stg_contact_events
    where (is_this_run or snapshot_date <> $snapshot_date)
      and snapshot_date between $snapshot_date::date - 1 and $snapshot_date
    qualify row_number() over (partition by event_id order by snapshot_date) = 1
),

arrangement_status as (
    select * from marts.arrangement_status
    where snapshot_date = $previous_aging_date
    union all by name
    select * from work.arrangement_status
),

credited as (
    select
        customer_id,
        assignee_kind,
        assignee_id,
        placed_date,
    from held
    qualify row_number() over (
        partition by customer_id
        order by
            assignee_kind = 'AGENCY' desc,
            case channel when 'LEGAL' then 1 when 'VISIT' then 2 else 3 end,
            assignee_id
    ) = 1
),

loan_moves as (
    select
        before.customer_id,
        before.is_aged and before.dpd > 0 as was_delinquent,
        coalesce(now.is_aged and now.dpd > 0, false) as is_delinquent,
        greatest(
            coalesce(now.paid_to_date_amount, before.paid_to_date_amount)
                - before.paid_to_date_amount,
            0
        ) as collected_amount,
    from aging as before
    left join aging as now
        on now.loan_id = before.loan_id
        and now.snapshot_date = $snapshot_date
    where before.snapshot_date = $previous_aging_date
),

customer_moves as (
    select
        customer_id,
        sum(collected_amount) as collected_amount,
        bool_or(was_delinquent) and not bool_or(is_delinquent) as is_cured,
    from loan_moves
    group by customer_id
),

kept_promises as (
    select
        now.customer_id,
        count(*) as promises_kept,
    from arrangement_status as now
    left join arrangement_status as before
        on before.arrangement_id = now.arrangement_id
        and before.snapshot_date = $previous_aging_date
    where now.snapshot_date = $snapshot_date
        and now.status = 'KEPT'
        and (before.status is null or before.status <> 'KEPT')
    group by now.customer_id
),

contacts as (
    select
        held.assignee_kind,
        held.assignee_id,
        count(distinct held.customer_id) filter (
            where contact_events.outcome in
                ('CONNECTED', 'PROMISE', 'REFUSED', 'DISPUTE', 'WRONG_PARTY', 'VISITED')
        ) as contacted,
        count(distinct held.customer_id) filter (
            where contact_events.outcome in
                ('CONNECTED', 'PROMISE', 'REFUSED', 'DISPUTE', 'VISITED')
        ) as right_party_contacts,
        count(distinct held.customer_id) filter (
            where contact_events.outcome = 'PROMISE'
        ) as promises,
    from held
    inner join contact_events
        on contact_events.customer_id = held.customer_id
        and contact_events.channel = held.channel
    group by held.assignee_kind, held.assignee_id
),

holdings as (
    select
        assignee_kind,
        assignee_id,
        count(distinct customer_id) as accounts_held,
    from held
    group by assignee_kind, assignee_id
),

results as (
    select
        credited.assignee_kind,
        credited.assignee_id,
        coalesce(sum(customer_moves.collected_amount), 0) as collected_amount,
        coalesce(sum(customer_moves.collected_amount) filter (
            where $snapshot_date::date - credited.placed_date <= rates.bonus_within_days
        ), 0) as collected_in_bonus_amount,
        count(*) filter (where customer_moves.is_cured) as cured,
        coalesce(sum(kept_promises.promises_kept), 0) as promises_kept,
        any_value(rates.commission_rate) as commission_rate,
        any_value(rates.bonus_rate) as bonus_rate,
    from credited
    left join customer_moves
        on customer_moves.customer_id = credited.customer_id
    left join kept_promises
        on kept_promises.customer_id = credited.customer_id
    left join rates
        on rates.assignee_kind = credited.assignee_kind
        and rates.assignee_id = credited.assignee_id
    group by credited.assignee_kind, credited.assignee_id
),

final as (
    select
        $snapshot_date::date as snapshot_date,
        holdings.assignee_kind,
        holdings.assignee_id,
        coalesce(rates.team_id, holdings.assignee_id) as team_id,
        holdings.accounts_held,
        coalesce(contacts.contacted, 0) as contacted,
        coalesce(contacts.right_party_contacts, 0) as right_party_contacts,
        coalesce(contacts.promises, 0) as promises,
        coalesce(results.promises_kept, 0) as promises_kept,
        coalesce(results.collected_amount, 0)::decimal(18,2) as collected_amount,
        coalesce(results.cured, 0) as cured,
        round(
            coalesce(results.collected_amount * results.commission_rate, 0)
            + coalesce(results.collected_in_bonus_amount * results.bonus_rate, 0),
            2
        )::decimal(18,2) as commission_amount,
    from holdings
    left join contacts
        on contacts.assignee_kind = holdings.assignee_kind
        and contacts.assignee_id = holdings.assignee_id
    left join results
        on results.assignee_kind = holdings.assignee_kind
        and results.assignee_id = holdings.assignee_id
    left join rates
        on rates.assignee_kind = holdings.assignee_kind
        and rates.assignee_id = holdings.assignee_id
    order by holdings.assignee_kind, holdings.assignee_id
)

select * from final
