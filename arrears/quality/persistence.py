"""What a validation writes to the warehouse besides quarantine: one quality.runs row per suite."""

from __future__ import annotations

import json
from datetime import date

import duckdb

from arrears.quality.report import SuiteResult


def record_runs(
    con: duckdb.DuckDBPyConnection, suites: list[SuiteResult], run_id: str, snapshot_date: date
) -> None:
    for s in suites:
        con.execute(
            "insert into quality.runs values ($validation_id, $run_id, $snapshot_date, $suite, "
            "$dataset, $success, $evaluated, $failed, $unexpected_rows, $duration, $details, "
            "now())",
            {
                "validation_id": s.validation_id,
                "run_id": run_id,
                "snapshot_date": snapshot_date,
                "suite": s.suite,
                "dataset": s.dataset,
                "success": s.success,
                "evaluated": s.evaluated,
                "failed": s.failed,
                "unexpected_rows": s.unexpected_rows,
                "duration": s.duration_seconds,
                "details": json.dumps([o.as_dict() for o in s.outcomes], default=str),
            },
        )
