-- docs/CONTRACT.md sections 4 and 5. No personal data: ids, amounts and decisions only.
create table if not exists marts.arrangement_status (
    snapshot_date date not null,
    arrangement_id varchar not null,
    loan_id varchar not null,
    customer_id varchar,
    kind varchar not null,
    created_date date not null,
    promised_date date not null,
    promised_amount decimal(18,2) not null,
    paid_amount decimal(18,2) not null,       -- paid on the loan since created_date
    status varchar not null                   -- ACTIVE, KEPT, BROKEN, CANCELLED
);

create table if not exists marts.collection_actions (
    action_id varchar not null,
    action_date date not null,
    snapshot_date date not null,
    customer_id varchar not null,
    loan_ids varchar[] not null,
    primary_loan_id varchar not null,
    channel varchar not null,
    stage varchar not null,
    priority integer not null,                -- 1 = first within the channel and date
    risk_score decimal(9,4) not null,
    overdue_amount decimal(18,2) not null,
    outstanding_amount decimal(18,2) not null,
    window_start timestamptz not null,
    window_end timestamptz not null,
    timezone varchar not null,
    max_attempts integer,                     -- CALL only
    template varchar not null,
    strategy_version varchar not null,
    strategy_variant varchar not null
);

create table if not exists marts.suppressed_actions (
    action_id varchar not null,
    action_date date not null,
    snapshot_date date not null,
    customer_id varchar not null,
    loan_ids varchar[] not null,
    primary_loan_id varchar not null,
    channel varchar not null,
    stage varchar not null,
    reason varchar not null,                  -- HOLD_<KIND>, CONSENT, CAP, WINDOW, CAPACITY, ARRANGEMENT, NO_CONTACT_DATA,
                                              -- BAD_PHONE, BAD_ADDRESS, PROMISE_GRACE (section 9)
    detail varchar,
    risk_score decimal(9,4),
    overdue_amount decimal(18,2),
    strategy_version varchar not null,
    strategy_variant varchar not null
);
