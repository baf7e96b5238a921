-- docs/CONTRACT.md section 3: one row per loan and snapshot date. No personal data.
create table if not exists marts.loan_aging (
    snapshot_date date not null,
    loan_id varchar not null,
    customer_id varchar not null,
    product varchar not null,
    branch varchar not null,
    currency varchar not null,
    status varchar not null,
    is_aged boolean not null,                 -- false for CLOSED and WRITTEN_OFF
    dpd integer not null,
    bucket varchar not null,
    previous_bucket varchar,                  -- bucket at the loan's previous snapshot
    previous_snapshot_date date,
    aging_term varchar not null,              -- NONE, SHORT, MEDIUM, LONG
    loan_class varchar not null,              -- NORMAL .. LOSS (per-product override)
    ifrs9_stage integer not null,             -- 1, 2, 3
    transition varchar not null,              -- NEW, STAY, ROLL_FORWARD, ROLL_BACK, CURE, CLOSED
    oldest_unpaid_due_date date,
    overdue_installments integer not null,
    overdue_principal_amount decimal(18,2) not null,
    overdue_interest_amount decimal(18,2) not null,
    overdue_fees_amount decimal(18,2) not null,   -- fee + penalty
    overdue_amount decimal(18,2) not null,
    outstanding_principal decimal(18,2) not null,
    paid_to_date_amount decimal(18,2) not null,   -- all paid on the schedule so far
    next_due_date date,
    next_due_amount decimal(18,2),
    last_payment_date date,
    source_dpd integer,
    has_source_dpd_mismatch boolean not null
);

create table if not exists marts.kpi_daily (
    snapshot_date date not null,
    bucket varchar not null,
    loans bigint not null,
    outstanding_principal decimal(18,2) not null,
    overdue_amount decimal(18,2) not null,
    new_loans bigint not null,
    cured_loans bigint not null,
    rolled_forward_loans bigint not null
);

create table if not exists marts.roll_rates (
    snapshot_date date not null,
    period varchar not null,                  -- DAY (consecutive snapshots) or MONTH (month ends)
    previous_snapshot_date date not null,
    from_bucket varchar not null,
    to_bucket varchar not null,
    loans bigint not null,
    balance decimal(18,2) not null,           -- outstanding principal at the earlier snapshot
    loan_share decimal(9,6) not null,         -- of the loans in from_bucket
    balance_share decimal(9,6)                -- of the balance in from_bucket (null when 0)
);
