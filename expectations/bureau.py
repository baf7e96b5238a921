"""bureau.critical / bureau.warning: credit-bureau reports in force at D (CONTRACT section 10)."""

from __future__ import annotations

from typing import Any

from arrears.quality.config import QualityConfig
from expectations import _build as b

DATASET = "bureau"


def critical(config: QualityConfig) -> Any:
    import great_expectations as gx

    x = gx.expectations
    return b.suite(
        f"{DATASET}.critical",
        [
            *b.not_null(
                DATASET,
                "customer_id",
                "report_date",
                "bureau_score",
                "external_overdue_accounts",
                "external_overdue_amount",
                "external_total_debt",
                "inquiries_90d",
            ),
            b.unique_key(DATASET),
            *b.non_negative(
                DATASET,
                "bureau_score",
                "external_overdue_accounts",
                "external_overdue_amount",
                "external_total_debt",
                "inquiries_90d",
            ),
            # an overdue amount beyond the whole debt reported is a misread report
            x.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="external_total_debt",
                column_B="external_overdue_amount",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta=b.meta("external_overdue_amount above external_total_debt", "customer_id"),
            ),
        ],
    )


def warning(config: QualityConfig) -> Any:
    import great_expectations as gx

    x = gx.expectations
    return b.suite(
        f"{DATASET}.warning",
        [
            b.references(DATASET, "customer_id", "customers", "customer_id"),
            # a report dated after D waits for a later night (int_customers__bureau)
            x.UnexpectedRowsExpectation(
                unexpected_rows_query="select * from {batch} where report_date > snapshot_date",
                meta=b.meta("report_date after snapshot date", "report_date"),
            ),
            *b.no_personal_patterns(DATASET),
        ],
    )
