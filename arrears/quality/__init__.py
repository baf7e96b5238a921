"""Data quality: Great Expectations suites on the DuckDB warehouse, quarantine, and reports.

Importing this package does not import Great Expectations (seconds of start-up); GX is loaded
inside the functions that validate.
"""

from __future__ import annotations

from arrears.quality.config import QualityConfig
from arrears.quality.report import Outcome, SuiteResult, ValidationReport
from arrears.quality.runner import validate_actions, validate_landed
from expectations.actions import ALLOWED_PERSONAL_COLUMNS, check_outbox_columns

__all__ = [
    "ALLOWED_PERSONAL_COLUMNS",
    "Outcome",
    "QualityConfig",
    "SuiteResult",
    "ValidationReport",
    "check_outbox_columns",
    "validate_actions",
    "validate_landed",
]
