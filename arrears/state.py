"""State carried from night to night (docs/CONTRACT.md section 8, docs/architecture.md).

A night reads what it needs from earlier nights from small per-loan and per-customer state
tables (marts.loan_state, customer_state, contact_state, loan_action_state, arrangement_state,
outcome_state) as the previous committed night left them, and writes tonight's version,
instead of re-reading the whole history. Each state table keeps one version per night for the last
ARREARS_RAW_KEEP_DAYS nights, so any of those nights can be rerun exactly as it ran. The
version a night reads must be that of the previous committed snapshot: anything else (a
deleted table, a missing or stray version) stops the run before it computes anything, naming
the command that rebuilds the state from the committed marts (`arrears rebuild-state`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import duckdb

from arrears import registry, warehouse
from arrears.errors import ArrearsError

# The state models (sql/marts/*_state.sql), in the order a night builds them.
STATE_MODELS = (
    "loan_state",
    "customer_state",
    "arrangement_state",
    "contact_state",
    "loan_action_state",
    "outcome_state",
    "assignment_state",
)
# Contact data reported bad (CONTRACT section 9), committed with the state and not pruned:
# raw.contact_fingerprints (personal-data zone: each bad value once, by the night it was first
# reported) and marts.skip_trace (per night). Not state: what a night reads of them is cut by
# date, and the fold cannot rebuild a fingerprint from the marts (docs/strategy.md).
REPORTED_MODELS = ("contact_fingerprints", "skip_trace")
DEFAULT_KEEP_NIGHTS = 7


# The snapshot dates of the committed nights, from the marts whose history the state replaces.
_NIGHT_TABLES = ("marts.loan_aging", "marts.arrangement_status", "marts.collection_actions")
_SNAPSHOTS = " union all ".join(f"select snapshot_date from {t}" for t in _NIGHT_TABLES)


class StateError(ArrearsError):
    """The carried state does not match the committed history (exit 1)."""


def _results_of_the_night() -> tuple[str, ...]:
    """What age and decide left in work.*, which the state models read (imported late: those
    modules import this one)."""
    from arrears.aging import AGE_MODELS
    from arrears.allocation.step import OUTPUTS as ALLOCATE_MODELS
    from arrears.strategy.engine import OUTPUTS as DECIDE_MODELS

    return (*AGE_MODELS, *DECIDE_MODELS, *ALLOCATE_MODELS)


def previous_snapshot(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> date | None:
    """The latest committed snapshot before `snapshot_date`: the latest night that left rows in
    the marts a night reads back (one date column each, which compresses to almost nothing)."""
    # One max per table: each is answered from the column's statistics; over a union, not.
    latest = [
        con.execute(
            f"select max(snapshot_date) from {table} where snapshot_date < $d",
            {"d": snapshot_date},
        ).fetchall()[0][0]
        for table in _NIGHT_TABLES
    ]
    return max((d for d in latest if d is not None), default=None)


def previous_aging(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> date | None:
    """The latest snapshot before `snapshot_date` with aged loans in marts.loan_aging: the
    previous snapshot of the aging rules (transitions, roll rates, episodes, KPIs)."""
    rows = con.execute(
        "select max(snapshot_date) from marts.loan_aging where snapshot_date < $d",
        {"d": snapshot_date},
    ).fetchall()
    return rows[0][0] if rows else None


def previous_dates(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> dict[str, date | None]:
    """The parameters every model of a night binds for "the previous night" and its windows:

    previous_snapshot_date  the state version it reads;
    previous_aging_date     the previous aging snapshot (the same date in a warehouse the
                            nightly runs filled);
    arrangements_since      where the history window of the arrangements measured for the
                            first time tonight starts (31 days before the earliest created_date
                            of those that need it; None when none does). Bound as a value, so
                            the scan of marts.loan_aging skips every older night.
    """
    previous = previous_snapshot(con, snapshot_date)
    return {
        "previous_snapshot_date": previous,
        "previous_aging_date": previous_aging(con, snapshot_date),
        "arrangements_since": _arrangements_since(con, previous),
    }


def _arrangements_since(con: duckdb.DuckDBPyConnection, previous: date | None) -> date | None:
    present = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'work' and table_name = 'arrangements'"
    ).fetchall()[0][0]
    if not present:
        return None
    # Fresh: the same test as int_arrangements__measured's `carried` (not measured last night).
    # A fresh arrangement created and promised after its loan's latest committed row (the usual
    # one: agreed yesterday, landed tonight) is measured from that row, which marts.loan_state
    # carries, and tonight's: every older row loses to them in its arg_max, so it needs no
    # window. Without this, one such arrangement scanned 31 nights of the whole book.
    return con.execute(
        """
        select min(arrangements.created_date) - 31
        from work.arrangements as arrangements
        anti join (
            select * from marts.arrangement_state where snapshot_date = $previous
        ) as previous
            on previous.arrangement_id = arrangements.arrangement_id
            and previous.loan_id = arrangements.loan_id
            and previous.created_date = arrangements.created_date
            and previous.promised_date = arrangements.promised_date
        left join (
            select loan_id, last_seen_date from marts.loan_state where snapshot_date = $previous
        ) as latest
            on latest.loan_id = arrangements.loan_id
        where latest.loan_id is null
            or arrangements.created_date <= latest.last_seen_date
            or arrangements.promised_date < latest.last_seen_date
        """,
        {"previous": previous},
    ).fetchall()[0][0]


def check(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> date | None:
    """The previous snapshot, after checking that every state table holds its version.

    Raises StateError naming what to run when the state cannot be the previous night's.
    """
    previous = previous_snapshot(con, snapshot_date)
    present = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    }
    for name in STATE_MODELS:
        if name not in present:
            raise StateError(
                f"marts.{name} is missing: the state carried from night to night is gone. "
                f"Run `arrears rebuild-state --through {previous or snapshot_date}` to rebuild "
                "it from the committed marts, then rerun."
            )
        if previous is None:
            continue
        latest = con.execute(
            f"select max(snapshot_date) from marts.{name} where snapshot_date < $d",
            {"d": snapshot_date},
        ).fetchall()[0][0]
        # Every state table carries its rows forward, so once it has rows every later version
        # has them; loan_state has rows whenever the book had loans (at the previous snapshot).
        if latest is None and name != "loan_state":
            continue
        if latest != previous:
            found = (
                f"its latest version before {snapshot_date} is {latest}"
                if latest
                else (f"it holds no version before {snapshot_date}")
            )
            raise StateError(
                f"marts.{name} does not match the committed history: the previous snapshot is "
                f"{previous} but {found} (only the last nights' versions are kept). Run "
                f"`arrears rebuild-state --through {previous}` to rebuild the state from the "
                f"committed marts, then rerun {snapshot_date}; or `arrears backfill` from the "
                "first date that needs it."
            )
    return previous


def build(
    con: duckdb.DuckDBPyConnection,
    snapshot_date: date,
    previous: date | None,
    models: tuple[str, ...] = (*STATE_MODELS, *REPORTED_MODELS),
) -> dict[str, int]:
    """work.<state> for tonight from the previous version and tonight's results in work.*,
    and tonight's contact data reported bad (`models`: fewer of them, for a simulation)."""
    params = {"snapshot_date": snapshot_date, **previous_dates(con, snapshot_date)}
    if params["previous_snapshot_date"] != previous:
        raise StateError(f"the state of {snapshot_date} must follow {previous}")
    # A night computed without the allocation step (tools, tests) made no placements.
    con.execute(
        "create table if not exists work.assignments as select * from marts.assignments limit 0"
    )
    return registry.build(
        con,
        models,
        params,
        given=_results_of_the_night(),
        keep_scratch=False,
    )


def prune(con: duckdb.DuckDBPyConnection, snapshot_date: date, keep_nights: int) -> int:
    """Drop the state versions that no rerun of the last `keep_nights` committed nights up to D
    reads: those nights' versions and the one before them stay (inside the commit's
    transaction); returns the rows deleted."""
    keep_nights += 1
    dates = [
        d
        for (d,) in con.execute(
            "select distinct snapshot_date from marts.loan_state where snapshot_date <= $d "
            "order by 1 desc",
            {"d": snapshot_date},
        ).fetchall()
    ]
    if len(dates) <= keep_nights:
        return 0
    cutoff = dates[keep_nights - 1]
    deleted = 0
    for name in STATE_MODELS:
        before = con.execute(f"select count(*) from marts.{name}").fetchall()[0][0]
        con.execute(f"delete from marts.{name} where snapshot_date < $c", {"c": cutoff})
        deleted += before - con.execute(f"select count(*) from marts.{name}").fetchall()[0][0]
    return deleted


def committed_snapshots(con: duckdb.DuckDBPyConnection, through: date | None = None) -> list[date]:
    rows = con.execute(
        f"select distinct snapshot_date from ({_SNAPSHOTS}) "
        "where $through is null or snapshot_date <= $through order by 1",
        {"through": through},
    ).fetchall()
    return [d for (d,) in rows]


def _stage_night(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> None:
    """work.* as the run of a committed night left them, for the state models to read: its
    aging, arrangement statuses (the arrangements in force are read back from them), the
    contact events that landed with it (from the ledger) and the actions it published."""
    day = {"d": snapshot_date}
    for name, query in (
        ("loan_aging", "select * from marts.loan_aging where snapshot_date = $d"),
        ("arrangement_status", "select * from marts.arrangement_status where snapshot_date = $d"),
        (
            "arrangements",
            "select snapshot_date, arrangement_id, loan_id, kind, created_date, promised_date, "
            "promised_amount, status = 'CANCELLED' as cancelled "
            "from marts.arrangement_status where snapshot_date = $d",
        ),
        (
            "contact_events",
            "select snapshot_date, event_id, action_id, customer_id, loan_id, channel, "
            "occurred_at, outcome from marts.contact_history where snapshot_date = $d",
        ),
        (
            "collection_actions",
            "select * from marts.collection_actions where action_date = $d::date + 1",
        ),
        ("assignments", "select * from marts.assignments where action_date = $d::date + 1"),
    ):
        con.execute(f"create or replace table work.{name} as {query}", day)


_STAGED = (
    "loan_aging",
    "arrangement_status",
    "arrangements",
    "contact_events",
    "collection_actions",
    "assignments",
)


def _set_aside(con: duckdb.DuckDBPyConnection, names: set[str]) -> list[tuple[str, str]]:
    """Rename the work.* relations the fold overwrites, so a caller's scratch survives it."""
    kinds = dict(
        con.execute(
            "select table_name, table_type from information_schema.tables "
            "where table_schema = 'work'"
        ).fetchall()
    )
    aside = []
    for name in sorted(names & kinds.keys()):
        kind = "view" if kinds[name] == "VIEW" else "table"
        con.execute(f"alter {kind} work.{name} rename to {name}__aside")
        aside.append((kind, name))
    return aside


def rebuild(
    con: duckdb.DuckDBPyConnection,
    through: date | None = None,
    keep_nights: int = DEFAULT_KEEP_NIGHTS,
    on_night: Callable[[date, int], None] | None = None,
) -> int:
    """Recompute the state night by night over the committed marts, from the first snapshot
    through `through` (default: the latest), in one transaction; returns the nights folded.
    on_night(night, total) is called after each night (progress on the command line)."""
    with warehouse.work_in_warehouse(con):
        con.execute("begin transaction")
        try:
            nights = fold(con, through, keep_nights, on_night)
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("commit")
    return nights


def fold(
    con: duckdb.DuckDBPyConnection,
    through: date | None = None,
    keep_nights: int = DEFAULT_KEEP_NIGHTS,
    on_night: Callable[[date, int], None] | None = None,
) -> int:
    """rebuild() inside the caller's transaction.

    The nightly models do the work, each night reading the version the previous one wrote:
    a one-off cost proportional to the history, for upgrades and for repairs. Relations of
    work.* that the fold uses are set aside and put back.
    """

    nights = committed_snapshots(con, through)
    for name in STATE_MODELS:
        con.execute(f"delete from marts.{name}")
    for night in nights:
        fold_night(con, night, keep_nights)
        if on_night is not None:
            on_night(night, len(nights))
    return len(nights)


def fold_night(
    con: duckdb.DuckDBPyConnection, night: date, keep_nights: int = DEFAULT_KEEP_NIGHTS
) -> None:
    """Tonight's state version from what the committed night left in the marts, inside the
    caller's transaction. For tools that commit some marts only (the aging of the real-data
    converter): the night's missing results read as empty."""
    given = _results_of_the_night()
    touched = {*_STAGED, *(m.name for m in registry.plan(STATE_MODELS, given=given))}
    aside = _set_aside(con, touched)
    _stage_night(con, night)
    params = {"snapshot_date": night, **previous_dates(con, night)}
    registry.build(con, STATE_MODELS, params, given=given, keep_scratch=False)
    for name in STATE_MODELS:
        con.execute(f"delete from marts.{name} where snapshot_date = $d", {"d": night})
        con.execute(f"insert into marts.{name} by name select * from work.{name}")
    prune(con, night, keep_nights)
    for name in sorted(touched):
        con.execute(f"drop table if exists work.{name}")
        con.execute(f"drop view if exists work.{name}")
    for kind, name in aside:
        con.execute(f"alter {kind} work.{name}__aside rename to {name}")
