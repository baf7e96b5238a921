-- The league table of the report (CONTRACT section 11, formulas in docs/allocation.md): per
-- team of agents and per agency, the nights of marts.assignee_kpis in the $league_days up to
-- $snapshot_date. Counts and amounts only.
with

kpis as (
    select * from marts.assignee_kpis
    where snapshot_date > $snapshot_date::date - $league_days
      and snapshot_date <= $snapshot_date
),

per_night as (
    select
        snapshot_date,
        assignee_kind,
        team_id,
        count(*) as assignees,
        sum(accounts_held) as accounts_held,
        sum(cured) as cured,
        sum(promises) as promises,
        sum(promises_kept) as promises_kept,
        sum(collected_amount) as collected_amount,
        sum(commission_amount) as commission_amount,
    from kpis
    group by snapshot_date, assignee_kind, team_id
),

final as (
    select
        assignee_kind,
        team_id,
        max(assignees) as assignees,
        count(*) as nights,
        cast(avg(accounts_held) as decimal(18,1)) as average_accounts_held,
        cast(sum(collected_amount) as decimal(18,2)) as collected_amount,
        cast(sum(cured) / nullif(avg(accounts_held), 0) as decimal(9,4)) as cure_rate,
        cast(sum(promises_kept) / nullif(sum(promises), 0) as decimal(9,4)) as promise_kept_rate,
        cast(sum(commission_amount) as decimal(18,2)) as commission_amount,
    from per_night
    group by assignee_kind, team_id
    order by collected_amount desc, assignee_kind, team_id
)

select * from final
