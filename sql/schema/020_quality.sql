create table if not exists quality.runs (
    validation_id varchar not null,
    run_id varchar not null,
    snapshot_date date not null,
    suite varchar not null,           -- <dataset>.critical, <dataset>.warning, actions.critical
    dataset varchar not null,
    success boolean not null,
    evaluated integer not null,       -- expectations evaluated
    failed integer not null,          -- expectations failed
    unexpected_rows bigint not null,
    duration_seconds double not null,
    details_json varchar,             -- per expectation: type, column, unexpected count, example keys
    validated_at timestamptz not null
);

create table if not exists quality.quarantine (
    snapshot_date date not null,
    run_id varchar not null,
    dataset varchar not null,
    record_key varchar not null,      -- the row's key columns, joined with '|'
    rule varchar not null,
    value varchar                     -- the offending value (never a personal-data column)
);
