"""Versioned warehouse schema: ordered migrations, each applied in its own transaction.

Version 1 is the baseline: the schemas, the raw.<dataset> tables of arrears/contract.py and
the DDL files sql/schema/*.sql as they stood when versioning began (tests/fixtures/make_v1.py
spells that DDL out and builds the stored v1 warehouse the upgrade test opens). Every later
change to an existing table is a migration here, never an edit of its `create table` alone:
`create table if not exists` does nothing to a warehouse that already has the table, so a
column added only there would exist in new warehouses and be missing in upgraded ones
(tests/test_reliability_migrations.py compares the two).

On every writable open (arrears/warehouse.py ensure_schema):
  1. a warehouse whose recorded version is newer than LATEST is refused (ConfigError, exit 2)
     before anything is written: older code must not write into a schema it does not know;
  2. the baseline DDL runs (idempotent), a new warehouse is recorded as version 1;
  3. each migration above the recorded version runs, in order, in a transaction that also
     inserts its row into ops.schema_version: a crash leaves the previous version, complete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

import duckdb

from arrears.errors import ConfigError

BASELINE = 1


@dataclass(frozen=True)
class Migration:
    version: int
    summary: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


def _v2_runs_version_and_notes(con: duckdb.DuckDBPyConnection) -> None:
    # Which release computed a run (answers "was this date computed before or after the
    # upgrade?"), and what the operator should know about it (e.g. stale later snapshots).
    con.execute("alter table ops.runs add column arrears_version varchar")
    con.execute("alter table ops.runs add column notes varchar")


def _v3_state_from_history(con: duckdb.DuckDBPyConnection) -> None:
    # The nights now read state instead of history (docs/CONTRACT.md section 8): the ledger of
    # contact events from what raw.* landed (each event once, first landing), then the state
    # folded night by night over the committed marts. The tables come from sql/schema.
    from arrears import state

    con.execute(
        "insert into marts.contact_history by name "
        "select snapshot_date, event_id, action_id, customer_id, loan_id, channel, occurred_at, "
        "outcome from raw.contact_events "
        "qualify row_number() over (partition by event_id order by snapshot_date) = 1"
    )
    state.fold(con)


def _v4_cancelled_actions(con: duckdb.DuckDBPyConnection) -> None:
    # Same-day cancellation (docs/CONTRACT.md section 9): the actions of an action date that the
    # day's payments withdrew, replaced per action date by every `arrears cancel` call. Code
    # older than this version would also drop the cancel set when it republishes a date folder
    # (arrears/publish/folders.py carry_subset), so it must not write here.
    con.execute(
        """
        create table if not exists marts.cancelled_actions (
            action_id varchar not null,
            action_date date not null,
            snapshot_date date not null,
            customer_id varchar not null,
            channel varchar not null,
            stage varchar not null,
            reason varchar not null,              -- PAID, PAID_INSTALLMENT
            covered_at timestamptz not null,      -- paid_at of the payment that completed the cover
            covered_amount decimal(18,2) not null,
            payment_ids varchar[] not null
        )
        """
    )


def _v5_housekeeping(con: duckdb.DuckDBPyConnection) -> None:
    # What each night archived, deleted and erased (docs/CONTRACT.md section 8): dates, tables,
    # folders and row counts, never values. New and upgraded warehouses get it from here alone.
    con.execute(
        """
        create table ops.housekeeping (
            run_id varchar not null,          -- the night's run, or a `housekeeping` command
            snapshot_date date not null,      -- the night it ran for
            action varchar not null,          -- archived, deleted, erased
            target varchar not null,          -- raw.<dataset>, or outbox/<action_date>
            target_date date,                 -- the snapshot or folder date; erased: the last
                                              -- on-book date at or before which customers went
            rows bigint not null,             -- rows moved, deleted or erased (folder: its rows)
            customers bigint,                 -- erased: the customers erased
            location varchar,                 -- archived: the archive file
            recorded_at timestamptz not null
        )
        """
    )


def _v6_customers_sealed(con: duckdb.DuckDBPyConnection) -> None:
    # Personal columns of raw.customers sealed at rest (docs/CONTRACT.md section 13,
    # docs/privacy.md): the sealed record and its key id, then the clear rows sealed in place.
    from arrears.pii import keys, sealing
    from arrears.settings import load_settings

    sealing.add_sealed_columns(con, "raw.customers")
    clear = con.execute("select count(*) from raw.customers where pii is null").fetchall()[0][0]
    if not clear:
        return  # a new warehouse: no key is needed yet
    settings = load_settings(warehouse=_location(con))
    key = keys.configured_key(settings) or keys.create_key(settings)
    sealing.seal_table(con, "raw.customers", key)


def _v7_outcome_state(con: duckdb.DuckDBPyConnection) -> None:
    # Contact outcomes change treatment (docs/CONTRACT.md section 9): marts.outcome_state (from
    # sql/schema) folded from the ledger with the rest of the state, so the DISPUTE and PROMISE
    # outcomes of the committed nights count as if the rule had run then. The phones and
    # addresses reported bad before the upgrade are not recovered: their values at the time are
    # not in the marts (raw.contact_fingerprints starts empty).
    from arrears import state

    state.fold(con)


def _v8_allocation(con: duckdb.DuckDBPyConnection) -> None:
    # Allocation to agents and agencies (docs/CONTRACT.md section 11, docs/allocation.md): who
    # works each action and in which visit order. marts.assignments, assignment_state and
    # assignee_kpis come from sql/schema (the state fold of migration 3 reads them); nothing
    # was placed before this version, so the state starts empty. The customers' coordinates
    # are personal columns of raw.customers, sealed with the others (docs/privacy.md).
    for column, kind in (
        ("assignee_kind", "varchar"),  # AGENT or AGENCY (CALL, VISIT, LEGAL)
        ("assignee_id", "varchar"),
        ("visit_sequence", "integer"),  # VISIT: 1 = first of the agent's day
    ):
        con.execute(
            f"alter table marts.collection_actions add column if not exists {column} {kind}"
        )
    for column in ("latitude", "longitude"):
        con.execute(f"alter table raw.customers add column if not exists {column} varchar")


def _v9_bureau_accounts(con: duckdb.DuckDBPyConnection) -> None:
    # Monthly credit-bureau reporting (docs/CONTRACT.md section 10, docs/bureau.md): one row per
    # loan reported and month, replaced per month by the reporting night or `arrears bureau`.
    # The previous month's rows are the state the next month's 24-month strings grow from.
    # No personal data: names and national ids are opened only while the files are written.
    con.execute(
        """
        create table if not exists marts.bureau_accounts (
            report_month date not null,            -- first day of the month reported
            snapshot_date date not null,           -- the reporting night
            loan_id varchar not null,
            customer_id varchar not null,
            product varchar,
            status varchar not null,               -- loan status, or GONE (left the book)
            dpd integer not null,
            status_char varchar not null,          -- PBOC: N * 1-7 C B
            repayment_status_24m varchar not null, -- PBOC, oldest first, this month last
            overdue_periods integer not null,
            overdue_total decimal(18,2) not null,
            overdue_principal decimal(18,2) not null,
            overdue_principal_31_60 decimal(18,2) not null,
            overdue_principal_61_90 decimal(18,2) not null,
            overdue_principal_91_180 decimal(18,2) not null,
            overdue_principal_180_plus decimal(18,2) not null,
            five_category integer not null,
            balance decimal(18,2) not null,
            remaining_periods integer not null,
            due_this_month decimal(18,2) not null,
            paid_this_month decimal(18,2) not null,
            paid_to_date_amount decimal(18,2) not null,
            last_payment_date date,
            last_payment_amount decimal(18,2),
            date_opened date,
            principal_amount decimal(18,2),
            terms_duration integer not null,
            account_status varchar not null,       -- Metro 2: 11 71 78 80 82 83 84 97 13
            payment_rating varchar,
            metro2_history_24m varchar not null,   -- Metro 2 month codes, oldest first, this last
            payment_history_profile varchar not null, -- Metro 2 field: previous month first
            amount_past_due decimal(18,2) not null,
            first_delinquency_date date,
            date_closed date,
            original_charge_off_amount decimal(18,2),
            compliance_condition_code varchar      -- XB while a dispute is open
        )
        """
    )


def _v10_actions_model_version(con: duckdb.DuckDBPyConnection) -> None:
    # Every action records the roll-forward model it was ranked by (docs/CONTRACT.md section
    # 12, docs/models.md); null for the nights ranked by the weighted score.
    con.execute(
        "alter table marts.collection_actions add column if not exists model_version varchar"
    )


def _v11_aging_principal_amount(con: duckdb.DuckDBPyConnection) -> None:
    # The loan's principal as the snapshot gives it, the credit limit for a card: the learned
    # risk's utilisation (docs/models.md) needs it for every committed night. Null on nights
    # committed before this version.
    con.execute(
        "alter table marts.loan_aging add column if not exists principal_amount decimal(18,2)"
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, "ops.runs.arrears_version and ops.runs.notes", _v2_runs_version_and_notes),
    Migration(
        3, "state carried from night to night, built from the history", _v3_state_from_history
    ),
    Migration(4, "marts.cancelled_actions (same-day cancellation)", _v4_cancelled_actions),
    Migration(5, "ops.housekeeping: what each night archived and erased", _v5_housekeeping),
    Migration(6, "raw.customers personal columns sealed (pii, pii_key_id)", _v6_customers_sealed),
    Migration(7, "marts.outcome_state folded from the contact-event ledger", _v7_outcome_state),
    Migration(
        8, "allocation: assignees on actions, assignments, their state and KPIs", _v8_allocation
    ),
    Migration(9, "marts.bureau_accounts (monthly bureau reporting)", _v9_bureau_accounts),
    Migration(10, "marts.collection_actions.model_version", _v10_actions_model_version),
    Migration(11, "marts.loan_aging.principal_amount", _v11_aging_principal_amount),
)
LATEST = MIGRATIONS[-1].version if MIGRATIONS else BASELINE


def arrears_version() -> str:
    """The installed release of arrears (recorded on every run)."""
    try:
        return metadata.version("arrears")
    except metadata.PackageNotFoundError:
        return "unknown"


def recorded_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The warehouse's schema version; None for a warehouse without ops.schema_version."""
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'ops' and table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not exists:
        return None
    value = con.execute("select max(version) from ops.schema_version").fetchall()[0][0]
    return None if value is None else int(value)


def _location(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchall()
    return rows[0][0] if rows and rows[0][0] else "the warehouse"


def refuse_newer(con: duckdb.DuckDBPyConnection) -> None:
    """ConfigError (exit 2) when the warehouse was written by a newer schema than this code's."""
    version = recorded_version(con)
    if version is not None and version > LATEST:
        raise ConfigError(
            f"{_location(con)} has schema version {version}, but arrears "
            f"{arrears_version()} knows versions up to {LATEST}; nothing was read or written. "
            "Upgrade arrears to the release that wrote it, or point --warehouse at another file."
        )


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Bring a warehouse holding the baseline DDL up to LATEST; returns the versions applied."""
    current = recorded_version(con)
    if current is None:
        # The baseline DDL has just been created: the warehouse is at version 1.
        con.execute("insert into ops.schema_version values ($v, now())", {"v": BASELINE})
        current = BASELINE
    applied = []
    for migration in MIGRATIONS:
        if migration.version <= current:
            continue
        con.execute("begin transaction")
        try:
            migration.apply(con)
            con.execute(
                "insert into ops.schema_version values ($v, now())", {"v": migration.version}
            )
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("commit")
        applied.append(migration.version)
    return applied
