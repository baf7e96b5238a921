-- Collection KPIs per snapshot date and strategy variant ('all' plus one row per variant), as
-- computed by the run of that date (model sql/marts/kpi_variants.sql; formulas in
-- docs/report.md). Counts and money only: no customer or loan ids.
create table if not exists marts.kpi_variants (
    snapshot_date date not null,
    strategy_variant varchar not null,        -- 'all', 'champion', 'challenger', ...
    previous_snapshot_date date,              -- P: the latest committed snapshot before D
    delinquent_loans bigint not null,         -- aged at P with dpd > 0
    cured_loans bigint not null,              -- of those, aged at D with dpd 0
    cure_rate decimal(9,6),                   -- null when delinquent_loans = 0
    collected_amount decimal(18,2) not null,  -- paid-to-date deltas P -> D, floored at 0 per loan
    kept_arrangements bigint not null,        -- resolved at D
    broken_arrangements bigint not null,
    promise_kept_rate decimal(9,6),
    call_actions bigint not null,             -- CALL actions of action date D
    contacted_calls bigint not null,
    right_party_calls bigint not null,
    promise_calls bigint not null,
    contact_rate decimal(9,6),
    right_party_contact_rate decimal(9,6),
    ptp_rate decimal(9,6),                    -- promise_calls / right_party_calls
    next_actions bigint not null,             -- actions of action date D + 1
    next_customers bigint not null
);
