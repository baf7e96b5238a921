"""Same-day cancellation (docs/CONTRACT.md section 9): which of the day's actions to withdraw.

A call for action date A does not re-run the night. It reads what the night of snapshot A - 1
committed (marts.collection_actions of A; for pre-due reminders, raw.installments of A - 1),
the payments landed so far during A (arrears/payments.py, in work.payments) and the strategy's
stage table (which stages remind of an upcoming installment), builds
`sql/marts/cancelled_actions.sql` through the model registry, and replaces the date's
partition of marts.cancelled_actions in one transaction. The reasons and what "covered" means
are spelled out in that model and in docs/outbox.md "Cancellations".
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

import duckdb

from arrears import registry, warehouse
from arrears.errors import ArrearsError, ConfigError
from arrears.strategy.config import Strategy
from arrears.strategy.engine import write_config_tables

log = logging.getLogger(__name__)

MODEL = "cancelled_actions"
REASONS = ("PAID", "PAID_INSTALLMENT")


def snapshot_date_for(action_date: date) -> date:
    """The actions of day A were decided from the snapshot of A - 1."""
    return action_date - timedelta(days=1)


def require_committed_night(con: duckdb.DuckDBPyConnection, action_date: date) -> int:
    """The number of committed actions of A; ArrearsError when the night of A - 1 is missing."""
    snapshot_date = snapshot_date_for(action_date)
    aged = warehouse.scalar(
        con,
        "select count(*) from marts.loan_aging where snapshot_date = $d",
        {"d": snapshot_date},
    )
    if not aged:
        raise ArrearsError(
            f"the night of snapshot {snapshot_date} is not committed, so action date "
            f"{action_date} has no actions to withdraw: run `arrears run --date {snapshot_date}` "
            "first"
        )
    return int(
        warehouse.scalar(
            con,
            "select count(*) from marts.collection_actions where action_date = $d",
            {"d": action_date},
        )
    )


def _require_strategy_of_the_night(
    con: duckdb.DuckDBPyConnection, action_date: date, strategy: Strategy
) -> None:
    """Pre-due stages are read from the strategy: it must be the one that decided the actions."""
    versions = [
        v
        for (v,) in con.execute(
            "select distinct strategy_version from marts.collection_actions "
            "where action_date = $d order by 1",
            {"d": action_date},
        ).fetchall()
    ]
    other = [v for v in versions if v != strategy.version]
    if other:
        raise ConfigError(
            f"the actions of {action_date} were decided with strategy version "
            f"{', '.join(other)}, but the strategy file is version {strategy.version}: "
            "run cancel with the strategy file the night used (--strategy)"
        )


def find_cancellations(
    con: duckdb.DuckDBPyConnection,
    action_date: date,
    strategy: Strategy,
    tolerance: Decimal,
) -> dict[tuple[str, str], int]:
    """Build the cancellations of A from work.payments and commit marts.cancelled_actions for A.

    Returns the withdrawn actions per (channel, reason)."""
    _require_strategy_of_the_night(con, action_date, strategy)
    write_config_tables(con, strategy)
    params = {
        "action_date": action_date,
        "snapshot_date": snapshot_date_for(action_date),
        "tolerance": tolerance,
    }
    built = registry.build(con, [MODEL], params, keep_scratch=False)
    with warehouse.transaction(con):
        warehouse.replace_partition(
            con, f"marts.{MODEL}", f"work.{MODEL}", "action_date", action_date
        )
    counts = {
        (channel, reason): int(n)
        for channel, reason, n in con.execute(
            f"select channel, reason, count(*) from work.{MODEL} group by all order by all"
        ).fetchall()
    }
    log.info(
        "cancelled_actions: %d actions of %s withdrawn (%s)",
        built[MODEL],
        action_date,
        ", ".join(f"{c} {r}: {n}" for (c, r), n in counts.items()) or "none",
    )
    return counts
