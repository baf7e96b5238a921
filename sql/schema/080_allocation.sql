-- docs/CONTRACT.md section 11, docs/allocation.md: allocation to agents and agencies.
-- No personal data: customers, assignees and amounts. The new columns of
-- marts.collection_actions (assignee_kind, assignee_id, visit_sequence) come from migration 8.

create table if not exists marts.assignments (
    action_date date not null,
    snapshot_date date not null,
    customer_id varchar not null,
    channel varchar not null,
    assignee_kind varchar not null,       -- AGENT, AGENCY
    assignee_id varchar not null,
    placed_date date not null,
    recalled_date date,                   -- null: placed tonight
    reason varchar not null,              -- PLACED, or why it ended: PAID, HOLD,
                                          -- CEASE_CONTACT, PLACEMENT_OVER, STAGE,
                                          -- REASSIGNED, REMOVED
    allocation_version varchar not null
);

create table if not exists marts.assignment_state (
    snapshot_date date not null,
    customer_id varchar not null,
    channel varchar not null,
    assignee_kind varchar not null,
    assignee_id varchar not null,
    placed_date date not null,
    allocation_version varchar not null
);

create table if not exists marts.assignee_kpis (
    snapshot_date date not null,
    assignee_kind varchar not null,
    assignee_id varchar not null,
    team_id varchar not null,                 -- the agent's team; an agency: its id
    accounts_held bigint not null,        -- customers held during the day
    contacted bigint not null,            -- of them, reached (any party)
    right_party_contacts bigint not null,
    promises bigint not null,
    promises_kept bigint not null,
    collected_amount decimal(18,2) not null,
    cured bigint not null,                -- overdue before, none overdue tonight
    commission_amount decimal(18,2) not null
);
