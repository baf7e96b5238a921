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


def _v4_outcome_state(con: duckdb.DuckDBPyConnection) -> None:
    # Contact outcomes change treatment (docs/CONTRACT.md section 9): marts.outcome_state (from
    # sql/schema) folded from the ledger with the rest of the state, so the DISPUTE and PROMISE
    # outcomes of the committed nights count as if the rule had run then. The phones and
    # addresses reported bad before the upgrade are not recovered: their values at the time are
    # not in the marts (raw.contact_fingerprints starts empty).
    from arrears import state

    state.fold(con)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, "ops.runs.arrears_version and ops.runs.notes", _v2_runs_version_and_notes),
    Migration(
        3, "state carried from night to night, built from the history", _v3_state_from_history
    ),
    Migration(4, "marts.outcome_state folded from the contact-event ledger", _v4_outcome_state),
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
