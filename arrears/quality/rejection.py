"""When a validation stops the run, and what it warns about.

A critical failure no quarantine can fix stops the run at once; row-level failures are
quarantined and stop it only when a dataset loses more than settings.quarantine_limit of its
rows. Either way InputRejected (exit 3) names the source file, the rule, the count and example
keys.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from arrears.contract import DATASETS
from arrears.errors import InputRejected
from arrears.quality import quarantine as q
from arrears.quality.report import ValidationReport
from arrears.settings import Settings


def warnings_of(report: ValidationReport) -> list[str]:
    """Failed warning rules, GX counts that differ from the rows found, quarantined shares."""
    out = []
    for suite in report.suites:
        for o in suite.outcomes:
            if o.success:
                continue
            if suite.severity == "warning":
                examples = f", e.g. {', '.join(o.examples)}" if o.examples else ""
                out.append(f"{suite.suite}: {o.rule} ({o.unexpected_count} rows{examples})")
            elif o.gx_unexpected_count is not None:
                out.append(
                    f"{suite.suite}: {o.rule}: GX counted {o.gx_unexpected_count} rows, "
                    f"{o.unexpected_count} quarantined"
                )
    for dataset, n in sorted(report.quarantined.items()):
        out.append(f"{dataset}: {n} of {report.rows.get(dataset, 0)} rows quarantined")
    return out


def dataset_failure(report: ValidationReport, sources: Mapping[str, str]) -> InputRejected | None:
    """A critical failure no quarantine can fix: dataset-level, cross-day, not evaluable, or
    a row-level rule GX failed whose rows DuckDB could not find (never let that pass)."""
    for suite in report.suites:
        if suite.severity != "critical":
            continue
        for o in suite.outcomes:
            if o.success or (o.row_level and o.error is None and o.unexpected_count > 0):
                continue
            return InputRejected(
                sources.get(suite.dataset, suite.dataset),
                f"{suite.suite}: {o.rule}" + (f" [{o.error}]" if o.error else ""),
                o.unexpected_count,
                o.examples,
                hint=f"snapshot {report.snapshot_date}; nothing was aged or published",
            )
    return None


def over_limit(
    con: duckdb.DuckDBPyConnection,
    report: ValidationReport,
    settings: Settings,
    sources: Mapping[str, str],
) -> InputRejected | None:
    """The first dataset whose quarantined share is above settings.quarantine_limit."""
    cascade_rules = {rule for *_, rule in q.CASCADE}
    # Name a dataset with rows failing its own rules before one emptied by cascade.
    order = sorted(
        report.quarantined,
        key=lambda d: (q.top_rule(con, d)[0] in cascade_rules, list(DATASETS).index(d)),
    )
    for dataset in order:
        n = report.quarantined[dataset]
        total = report.rows.get(dataset, 0)
        share = n / total if total else 1.0
        if share > settings.quarantine_limit:
            rule, examples = q.top_rule(con, dataset)
            return InputRejected(
                sources.get(dataset, dataset),
                f"{dataset}.critical: {rule}",
                n,
                examples,
                hint=(
                    f"{share:.2%} of {total} rows quarantined, above the limit of "
                    f"{settings.quarantine_limit:.2%}; see quality.quarantine for run "
                    f"{report.run_id}"
                ),
            )
    return None
