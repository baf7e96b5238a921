"""What an operator reads at a glance after a run: small tables, no personal data.

Every row holds dates, bucket/channel/stage/reason names, counts and amounts only. The lead's
Prefect tasks publish `artifact_tables()` as table artifacts and `markdown()` as a markdown one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import duckdb

from arrears.report import fmt
from arrears.report.queries import bucket_key, channel_key, rows, stage_key

Row = dict[str, Any]


@dataclass(frozen=True)
class RunSummary:
    snapshot_date: date
    action_date: date
    previous_snapshot_date: date | None
    # Per bucket at D (natural bucket order) plus a TOTAL row; *_change against the previous
    # snapshot, None when there is none.
    buckets: list[Row]
    # Per channel and stage for the action date D + 1.
    actions: list[Row]
    # Per reason and channel for the action date D + 1.
    suppressed: list[Row]
    # Per suite of the latest validation run of D.
    validation: list[Row]
    # The latest ops.runs row of D: run_id and status (None when the run is not recorded).
    run: Row | None = field(default=None)
    # Contact data reported bad: BAD_PHONE and BAD_ADDRESS (customers and actions held back on
    # D + 1), SKIP_TRACE (customers in marts.skip_trace at D, and those new that night).
    contact_data: list[Row] = field(default_factory=list)
    # The actions of D (published by the previous night) withdrawn during day D because the
    # day's payments covered them: per channel and reason (marts.cancelled_actions).
    cancelled: list[Row] = field(default_factory=list)
    # Per failed suite of the latest validation run of D: the rules that failed and their rows.
    failed_rules: list[Row] = field(default_factory=list)
    # The latest run's times and the action date's strategy versions (the report's header).
    run_details: Row | None = field(default=None)

    @property
    def total_actions(self) -> int:
        return sum(r["actions"] for r in self.actions)

    @property
    def total_suppressed(self) -> int:
        return sum(r["actions"] for r in self.suppressed)

    @property
    def validation_passed(self) -> bool | None:
        """Every critical suite passed (warning suites never stop a run); None: nothing ran."""
        if not self.validation:
            return None
        return all(r["success"] for r in self.validation if not _is_warning(r["suite"]))

    @property
    def failed_warning_suites(self) -> int:
        return sum(1 for r in self.validation if _is_warning(r["suite"]) and not r["success"])

    def artifact_tables(self) -> dict[str, list[Row]]:
        """The five tables with JSON-safe values (Decimal as exact text, dates ISO)."""
        tables = {
            "buckets": self.buckets,
            "actions": self.actions,
            "suppressed": self.suppressed,
            # artifact keys take lowercase letters, digits and dashes only
            "contact-data": self.contact_data,
            "cancelled": self.cancelled,
            "validation": self.validation,
        }
        return {
            name: [{k: fmt.json_safe(v) for k, v in row.items()} for row in table]
            for name, table in tables.items()
        }

    def markdown(
        self, outbox_manifest_path: str | None = None, manifest_url: str | None = None
    ) -> str:
        previous = (
            self.previous_snapshot_date.isoformat() if self.previous_snapshot_date else "none"
        )
        lines = [
            f"# Collections run: snapshot {self.snapshot_date}, actions for {self.action_date}",
            "",
        ]
        if self.run is not None:
            lines.append(f"Run `{self.run['run_id']}`: **{self.run['status']}**  ")
        passed = self.validation_passed
        verdict = "not run" if passed is None else ("passed" if passed else "FAILED")
        if self.failed_warning_suites:
            verdict += f" ({self.failed_warning_suites} warning suite(s) failed)"
        lines += [
            f"Validation: **{verdict}** · actions: **{fmt.count(self.total_actions)}** · "
            f"suppressed: **{fmt.count(self.total_suppressed)}**  ",
            "Outbox manifest: "
            + (
                _manifest(outbox_manifest_path, manifest_url)
                if outbox_manifest_path
                else "not published"
            ),
            "",
            f"## Buckets at {self.snapshot_date} (change against {previous})",
            "",
        ]
        lines += _table(
            [
                "bucket",
                "loans",
                "Δ loans",
                "outstanding principal",
                "Δ outstanding",
                "overdue amount",
                "Δ overdue",
            ],
            [
                [
                    r["bucket"],
                    fmt.count(r["loans"]),
                    fmt.signed_count(r["loans_change"]),
                    fmt.money(r["outstanding_principal"]),
                    fmt.signed_money(r["outstanding_principal_change"]),
                    fmt.money(r["overdue_amount"]),
                    fmt.signed_money(r["overdue_amount_change"]),
                ]
                for r in self.buckets
            ],
        )
        lines += ["", f"## Actions for {self.action_date} per channel and stage", ""]
        lines += _table(
            ["channel", "stage", "actions", "customers", "overdue amount"],
            [
                [
                    r["channel"],
                    r["stage"],
                    fmt.count(r["actions"]),
                    fmt.count(r["customers"]),
                    fmt.money(r["overdue_amount"]),
                ]
                for r in self.actions
            ],
        )
        lines += ["", f"## Suppressed for {self.action_date} per reason and channel", ""]
        lines += _table(
            ["reason", "channel", "actions", "customers"],
            [
                [r["reason"], r["channel"], fmt.count(r["actions"]), fmt.count(r["customers"])]
                for r in self.suppressed
            ],
        )
        lines += ["", "## Contact data reported bad", ""]
        lines += _table(
            ["", "customers", "actions held back", "new"],
            [
                [
                    r["item"],
                    fmt.count(r["customers"]),
                    fmt.count(r["actions"]),
                    fmt.count(r["new_customers"]),
                ]
                for r in self.contact_data
            ],
        )
        lines += ["", f"## Withdrawn during {self.snapshot_date} (paid)", ""]
        lines += _table(
            ["channel", "reason", "actions", "customers", "covered amount"],
            [
                [
                    r["channel"],
                    r["reason"],
                    fmt.count(r["actions"]),
                    fmt.count(r["customers"]),
                    fmt.money(r["covered_amount"]),
                ]
                for r in self.cancelled
            ],
        )
        lines += ["", f"## Validation of {self.snapshot_date} (latest run)", ""]
        lines += _table(
            ["suite", "result", "evaluated", "failed", "unexpected rows", "quarantined rows"],
            [
                [
                    r["suite"],
                    "pass" if r["success"] else "FAIL",
                    fmt.count(r["evaluated"]),
                    fmt.count(r["failed"]),
                    fmt.count(r["unexpected_rows"]),
                    fmt.count(r["quarantined_rows"]),
                ]
                for r in self.validation
            ],
        )
        if self.failed_rules:
            lines += ["", "Failed rules:", ""]
            lines += [
                f"- {r['suite']}: {r['rule']} ({fmt.counted(r['unexpected_rows'], 'row')})"
                for r in self.failed_rules
            ]
        return "\n".join(lines) + "\n"


def _is_warning(suite: str) -> bool:
    return suite.endswith(".warning")


def _manifest(path: str, url: str | None) -> str:
    """A link where the outbox is served (ARREARS_OUTBOX_URL); else the path as text: a
    file:// link does not open from the Prefect UI's page."""
    return f"[{path}]({url})" if url else f"`{path}`"


def _table(header: list[str], body: list[list[str]]) -> list[str]:
    if not body:
        return ["_none_"]
    right = [i for i, h in enumerate(header) if i > 0 and h not in ("stage", "channel", "result")]
    align = ["---:" if i in right else "---" for i in range(len(header))]
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(cells) + " |" for cells in body),
    ]


def bucket_rows(
    con: duckdb.DuckDBPyConnection, snapshot_date: date
) -> tuple[list[Row], date | None]:
    """Per-bucket rows at D in natural bucket order plus a TOTAL row, and the previous date."""
    found = rows(con, "summary_buckets", {"snapshot_date": snapshot_date})
    previous = found[0]["previous_snapshot_date"] if found else None
    buckets = [
        {k: v for k, v in r.items() if k != "previous_snapshot_date"}
        for r in sorted(found, key=lambda r: bucket_key(r["bucket"]))
    ]
    if buckets:
        total: Row = {"bucket": "TOTAL"}
        for column in buckets[0]:
            if column == "bucket":
                continue
            values = [r[column] for r in buckets]
            total[column] = (
                None
                if any(v is None for v in values)
                else sum(values, Decimal(0) if isinstance(values[0], Decimal) else 0)
            )
        buckets.append(total)
    return buckets, previous


def run_summary(con: duckdb.DuckDBPyConnection, snapshot_date: date) -> RunSummary:
    """The operator's summary of snapshot D and its action date D + 1, read from the marts."""
    action_date = snapshot_date + timedelta(days=1)
    buckets, previous = bucket_rows(con, snapshot_date)
    actions = sorted(
        rows(con, "summary_actions", {"action_date": action_date}),
        key=lambda r: (channel_key(r["channel"]), stage_key(r["stage"])),
    )
    suppressed = sorted(
        rows(con, "summary_suppressed", {"action_date": action_date}),
        key=lambda r: (r["reason"], channel_key(r["channel"])),
    )
    validation = [
        {k: v for k, v in r.items() if k != "run_id"}
        for r in rows(con, "summary_validation", {"snapshot_date": snapshot_date})
    ]
    run = rows(con, "summary_run", {"snapshot_date": snapshot_date})
    contact_data = rows(
        con, "summary_contact_data", {"snapshot_date": snapshot_date, "action_date": action_date}
    )
    cancelled = sorted(
        rows(con, "summary_cancelled", {"action_date": snapshot_date}),
        key=lambda r: (channel_key(r["channel"]), r["reason"]),
    )
    failed_rules = rows(con, "summary_failed_rules", {"snapshot_date": snapshot_date})
    details = rows(
        con, "summary_run_details", {"snapshot_date": snapshot_date, "action_date": action_date}
    )
    return RunSummary(
        snapshot_date=snapshot_date,
        action_date=action_date,
        previous_snapshot_date=previous,
        buckets=buckets,
        actions=actions,
        suppressed=suppressed,
        validation=validation,
        run=run[0] if run else None,
        contact_data=contact_data,
        cancelled=cancelled,
        failed_rules=failed_rules,
        run_details=details[0] if details else None,
    )
