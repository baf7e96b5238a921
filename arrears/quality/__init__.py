"""Data quality: Great Expectations suites on the DuckDB warehouse, quarantine, and reports.

Importing this package does not import Great Expectations (seconds of start-up); GX is loaded
inside the functions that validate.
"""

from __future__ import annotations

from arrears.quality.config import QualityConfig
from arrears.quality.personal_data import ALLOWED_PERSONAL_COLUMNS
from arrears.quality.report import Outcome, SuiteResult, ValidationReport
from arrears.quality.runner import validate_actions, validate_landed

__all__ = [
    "ALLOWED_PERSONAL_COLUMNS",
    "Outcome",
    "QualityConfig",
    "SuiteResult",
    "ValidationReport",
    "validate_actions",
    "validate_landed",
]
