-- docs/CONTRACT.md section 9: contact outcomes that change the next nights' actions.

-- Personal-data zone (next to raw.customers): each phone or address reported bad, as a
-- fingerprint of the value it had when the report landed, never the value itself. One row per
-- customer, contact and value, partitioned by the night the value was first reported bad; the
-- night's commit writes it, a rerun of that night replaces it. The strategy compares the
-- customers file with it in staging (sql/staging/stg_contact_blocks.sql) and sees booleans only.
-- Erased with the customer's personal data (docs/reliability.md).
create table if not exists raw.contact_fingerprints (
    snapshot_date date not null,               -- the night the value was first reported bad
    customer_id varchar not null,
    contact varchar not null,                  -- PHONE or ADDRESS
    fingerprint varchar not null,              -- sha256 of the customer id and the normalised value
    event_id varchar not null,                 -- the first report: contact_events.event_id
    channel varchar not null,
    outcome varchar not null,                  -- WRONG_PARTY, FAILED (LETTER), NOT_FOUND (VISIT)
    occurred_at timestamptz not null
);

-- State (sql/marts/outcome_state.sql, arrears/state.py): per customer, the latest DISPUTE and
-- the latest PROMISE ever reported, which the dispute hold and the promise grace run from.
create table if not exists marts.outcome_state (
    snapshot_date date not null,
    customer_id varchar not null,
    outcome varchar not null,                  -- DISPUTE or PROMISE
    event_id varchar not null,
    channel varchar not null,
    occurred_at timestamptz not null
);

-- Customers with an aged loan whose current address was reported bad, per snapshot date while
-- it stays their address: for skip tracing. No personal data.
create table if not exists marts.skip_trace (
    snapshot_date date not null,
    customer_id varchar not null,
    since_date date not null,                  -- the night the address was first reported bad
    event_id varchar not null,                 -- that report
    channel varchar not null,                  -- LETTER or VISIT
    outcome varchar not null,                  -- FAILED or NOT_FOUND
    occurred_at timestamptz not null,
    blocked_channels varchar[] not null        -- LETTER, VISIT; and SMS, CALL when the phone is bad too
);
