"""holds.critical / holds.warning: reasons not to contact, in force at D."""

from __future__ import annotations

from typing import Any

from arrears.quality.config import QualityConfig
from expectations import _build as b

DATASET = "holds"


def critical(config: QualityConfig) -> Any:
    import great_expectations as gx

    x = gx.expectations
    return b.suite(
        f"{DATASET}.critical",
        [
            # A hold nobody can be matched to protects no one: the whole file is refused.
            x.ExpectColumnValuesToNotBeNull(
                column="customer_id", meta=b.meta("customer_id is missing", dataset_level=True)
            ),
            *b.not_null(DATASET, "kind", "start_date"),
            b.unique_key(DATASET),
            b.in_enum(DATASET, "kind"),
            x.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="end_date",
                column_B="start_date",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta=b.meta("end_date before start_date", "end_date"),
            ),
        ],
    )


def warning(config: QualityConfig) -> Any:
    return b.suite(
        f"{DATASET}.warning",
        [
            b.references(DATASET, "customer_id", "customers", "customer_id"),
            b.references(DATASET, "loan_id", "loans", "loan_id"),
            *b.no_personal_patterns(DATASET),
        ],
    )
