-- PostgreSQL sink table of the same-day cancellations (docs/outbox.md "Cancellations"): a copy
-- of marts.cancelled_actions, no personal data. {schema} is an identifier filled in by the sink.
create schema if not exists {schema};

create table if not exists {schema}.cancelled_actions (
    action_id text primary key,
    action_date date not null,
    snapshot_date date not null,
    customer_id text not null,
    channel text not null,
    stage text not null,
    reason text not null,
    covered_at timestamptz not null,
    covered_amount numeric(18,2) not null,
    payment_ids text[] not null
);

create index if not exists cancelled_actions_action_date_idx
    on {schema}.cancelled_actions (action_date);
