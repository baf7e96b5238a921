"""cross_day.critical / cross_day.warning as suite results: the landed loans against the
previous snapshot, by the plain DuckDB queries of expectations/cross_day.py."""

from __future__ import annotations

import time
from datetime import date

import duckdb

from arrears.personal import mask
from arrears.quality import quarantine as q
from arrears.quality.config import QualityConfig
from arrears.quality.report import Outcome, SuiteResult

SEVERITIES = ("critical", "warning")


def cross_day_suites(
    con: duckdb.DuckDBPyConnection, snapshot_date: date, run_id: str, config: QualityConfig
) -> list[SuiteResult]:
    from expectations import cross_day

    previous = con.execute(cross_day.PREVIOUS_SNAPSHOT, {"snapshot_date": snapshot_date}).fetchone()
    previous_date = previous[0] if previous else None
    params = {
        "snapshot_date": snapshot_date,
        "previous_date": previous_date,
        "revolving_products": list(config.revolving_products),
        "overdue_tolerance": config.overdue_tolerance_amount,
    }
    results = []
    for severity in SEVERITIES:
        started = time.perf_counter()
        outcomes = []
        for check in (c for c in cross_day.checks() if c.severity == severity):
            if previous_date is None and check.query is not cross_day.SOURCE_DPD_MISMATCH:
                # The first snapshot has nothing to compare with.
                outcomes.append(Outcome(check.rule, "cross_day", None, True, 0, row_level=False))
                continue
            failing, base, examples = q.bind(con, check.query, params).fetchone()
            if check.count_change:
                moved = abs(int(failing) - int(base))
                share = moved / base if base else 0.0
                count = moved
            else:
                share = failing / base if base else 0.0
                count = int(failing)
            limit = getattr(config, check.share_setting) if check.share_setting else 0.0
            success = share <= limit if check.share_setting else count == 0
            outcomes.append(
                Outcome(
                    check.rule,
                    "cross_day",
                    None,
                    success,
                    0 if success else count,
                    tuple(mask(str(e)) for e in examples or ()),
                    row_level=False,
                )
            )
        results.append(
            SuiteResult(
                validation_id=f"{run_id}:cross_day.{severity}",
                suite=f"cross_day.{severity}",
                dataset="loans",
                duration_seconds=time.perf_counter() - started,
                outcomes=tuple(outcomes),
            )
        )
    return results
