-- PostgreSQL sink tables (CONTRACT section 7): copies of marts.collection_actions and
-- marts.suppressed_actions, no personal data, and the loads that wrote them. {schema} is an
-- identifier filled in by the sink. Columns added later are appended with `add column if not
-- exists`, so a table created by an earlier release gets them in the same order.
create schema if not exists {schema};

create table if not exists {schema}.collection_actions (
    action_id text primary key,
    action_date date not null,
    snapshot_date date not null,
    customer_id text not null,
    loan_ids text[] not null,
    primary_loan_id text not null,
    channel text not null,
    stage text not null,
    priority integer not null,
    risk_score numeric(9,4) not null,
    overdue_amount numeric(18,2) not null,
    outstanding_amount numeric(18,2) not null,
    window_start timestamptz not null,
    window_end timestamptz not null,
    timezone text not null,
    max_attempts integer,
    template text not null,
    strategy_version text not null,
    strategy_variant text not null
);

create index if not exists collection_actions_action_date_idx
    on {schema}.collection_actions (action_date);

create table if not exists {schema}.suppressed_actions (
    action_id text not null,
    action_date date not null,
    snapshot_date date not null,
    customer_id text not null,
    loan_ids text[] not null,
    primary_loan_id text not null,
    channel text not null,
    stage text not null,
    reason text not null,
    detail text,
    risk_score numeric(9,4),
    overdue_amount numeric(18,2),
    strategy_version text not null,
    strategy_variant text not null
);

create index if not exists suppressed_actions_action_date_idx
    on {schema}.suppressed_actions (action_date);

-- Who works the action (docs/allocation.md): a dialer or field app routes by them.
alter table {schema}.collection_actions
    add column if not exists assignee_kind text,
    add column if not exists assignee_id text,
    add column if not exists visit_sequence integer,
    -- the roll-forward model that ranked the action (docs/models.md); null for the weighted score
    add column if not exists model_version text;

-- currency: the primary loan's; run_id, loaded_at: the load that last wrote the row.
alter table {schema}.collection_actions
    add column if not exists currency text,
    add column if not exists run_id text,
    add column if not exists loaded_at timestamptz;

alter table {schema}.suppressed_actions
    add column if not exists run_id text,
    add column if not exists loaded_at timestamptz;

-- One row per load of an action date, in the transaction that wrote its rows: a date with zero
-- actions has a load with 0 rows; a date never loaded has none.
create table if not exists {schema}.loads (
    action_date date not null,
    run_id text,
    loaded_at timestamptz not null,
    collection_actions integer not null,
    suppressed_actions integer not null,
    primary key (action_date, loaded_at)
);
