-- docs/CONTRACT.md section 8: what a night needs from earlier nights, carried forward as state.
-- Each state table holds one version per snapshot date: the state after that night. A run of D
-- reads the version of the previous committed snapshot and writes D's; the commit keeps the
-- versions of the last ARREARS_RAW_KEEP_DAYS nights, so those nights can be rerun as they ran.
-- No personal data.

-- Every contact event once, with the snapshot it first landed with (the feedback ledger).
create table if not exists marts.contact_history (
    snapshot_date date not null,
    event_id varchar not null,
    action_id varchar,
    customer_id varchar not null,
    loan_id varchar,
    channel varchar not null,
    occurred_at timestamptz not null,
    outcome varchar not null
);

-- Per loan ever seen: its latest row, and the months it was delinquent in (the last 12).
create table if not exists marts.loan_state (
    snapshot_date date not null,
    loan_id varchar not null,
    customer_id varchar not null,
    last_seen_date date not null,              -- the latest snapshot holding the loan
    last_dpd integer not null,
    last_bucket varchar not null,
    last_paid_to_date_amount decimal(18,2) not null,
    delinquent_months date[] not null          -- month starts with dpd > 0, the last 12 months
);

-- Per customer ever seen: where the current delinquency episode began, and when the customer
-- last had a loan on the book (ACTIVE or CHARGED_OFF), for the retention of personal data.
create table if not exists marts.customer_state (
    snapshot_date date not null,
    customer_id varchar not null,
    is_delinquent boolean not null,            -- some aged loan at dpd > 0 at snapshot_date
    last_clean_date date,                      -- latest snapshot with every loan at dpd 0
    last_on_book_date date                     -- latest snapshot with an ACTIVE/CHARGED_OFF loan
);

-- Per customer and channel: what was published, for cadences and "once per episode".
create table if not exists marts.contact_state (
    snapshot_date date not null,
    customer_id varchar not null,
    channel varchar not null,
    last_action_date date not null,
    episode_first_action_date date             -- first action of the episode open at snapshot_date
);

-- Per loan, stage and channel: the latest action about the loan ("once per installment").
create table if not exists marts.loan_action_state (
    snapshot_date date not null,
    loan_id varchar not null,
    stage varchar not null,
    channel varchar not null,
    last_action_date date not null
);

-- Per arrangement ever seen: the paid-to-date baseline and the paid-by-promised-date figure
-- its status is measured with, and whether it was ever BROKEN (risk score, "newly broken").
create table if not exists marts.arrangement_state (
    snapshot_date date not null,
    arrangement_id varchar not null,
    loan_id varchar not null,
    customer_id varchar,
    created_date date not null,
    promised_date date not null,
    baseline_paid_amount decimal(18,2),        -- paid to date before created_date (or first seen)
    paid_by_promised_amount decimal(18,2),     -- paid to date at the latest snapshot <= promised
    was_broken boolean not null
);
