create table if not exists ops.schema_version (
    version integer not null,
    applied_at timestamptz not null
);

-- Columns added later come from migrations (arrears/migrations.py): changing an existing
-- table needs a migration, never an edit here. ops.housekeeping (what each night archived,
-- deleted and erased) is created by migration 4 alone, in new and upgraded warehouses alike.
create table if not exists ops.runs (
    run_id varchar primary key,
    flow_run_id varchar,
    snapshot_date date not null,
    action_date date not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    status varchar not null,          -- RUNNING, SUCCEEDED, REJECTED, FAILED
    error varchar,                    -- the failure message (never personal data)
    settings_json varchar,            -- landing, warehouse, outbox, profile, strategy version
    inputs_json varchar,              -- per dataset: file, sha256, rows, carried_forward_from
    row_counts_json varchar           -- per step: rows in, rows out
);

-- A warehouse started on purpose although the outbox or landing folder showed earlier dates
-- (`arrears init`, `arrears run --init`): runs on it go ahead while it holds no snapshot yet
-- (arrears/continuity.py).
create table if not exists ops.initialisations (
    initialised_at timestamptz not null,
    warehouse varchar not null,       -- the absolute path it was initialised at
    snapshot_date date,               -- the run that initialised it (null: `arrears init`)
    evidence varchar                  -- the earlier dates seen in the outbox and landing folder
);
