"""What a validation returns: per-suite results, quarantine counts and warnings.

Nothing here holds personal data: example keys are record keys (ids), never column values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """One expectation (or cross-day check) of a suite."""

    rule: str
    expectation_type: str
    column: str | None
    success: bool
    unexpected_count: int
    examples: tuple[str, ...] = ()
    # GX's own count, when it differs from the rows found for quarantine (it should not).
    gx_unexpected_count: int | None = None
    error: str | None = None
    # False for dataset-level checks: no row can be quarantined for them.
    row_level: bool = True

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "type": self.expectation_type,
            "column": self.column,
            "success": self.success,
            "unexpected_count": self.unexpected_count,
            "example_keys": list(self.examples),
        }
        if self.gx_unexpected_count is not None:
            out["gx_unexpected_count"] = self.gx_unexpected_count
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class SuiteResult:
    validation_id: str
    suite: str
    dataset: str
    duration_seconds: float
    outcomes: tuple[Outcome, ...]

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    @property
    def evaluated(self) -> int:
        return len(self.outcomes)

    @property
    def failed(self) -> int:
        return sum(not o.success for o in self.outcomes)

    @property
    def unexpected_rows(self) -> int:
        return sum(o.unexpected_count for o in self.outcomes if not o.success)

    @property
    def severity(self) -> str:
        return self.suite.rsplit(".", 1)[-1]


@dataclass
class ValidationReport:
    run_id: str
    snapshot_date: date
    suites: list[SuiteResult] = field(default_factory=list)
    # Rows removed from work.<dataset> (directly or by cascade), and rows there before.
    quarantined: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        """No critical suite failed (quarantined rows count as handled)."""
        return all(s.success for s in self.suites if s.severity != "warning")

    def suite(self, name: str) -> SuiteResult:
        for result in self.suites:
            if result.suite == name:
                return result
        raise KeyError(name)

    def as_rows(self) -> list[dict[str, Any]]:
        """One row per suite, for a Prefect table artifact (no personal data)."""
        return [
            {
                "suite": s.suite,
                "dataset": s.dataset,
                "success": s.success,
                "evaluated": s.evaluated,
                "failed": s.failed,
                "unexpected_rows": s.unexpected_rows,
                "quarantined": self.quarantined.get(s.dataset, 0)
                if s.severity == "critical"
                else 0,
                "duration_seconds": round(s.duration_seconds, 3),
                "failed_rules": "; ".join(o.rule for o in s.outcomes if not o.success),
            }
            for s in self.suites
        ]
