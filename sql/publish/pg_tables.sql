-- PostgreSQL sink tables (CONTRACT section 7): copies of marts.collection_actions and
-- marts.suppressed_actions, no personal data. {schema} is an identifier filled in by the sink.
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
