"""arrangements.critical / arrangements.warning: promises and plans in force at D."""

from __future__ import annotations

from typing import Any

from arrears.quality.config import QualityConfig
from expectations import _build as b

DATASET = "arrangements"


def critical(config: QualityConfig) -> Any:
    import great_expectations as gx

    x = gx.expectations
    return b.suite(
        f"{DATASET}.critical",
        [
            *b.not_null(
                DATASET,
                "arrangement_id",
                "loan_id",
                "kind",
                "created_date",
                "promised_date",
                "promised_amount",
            ),
            b.unique_key(DATASET),
            b.references(DATASET, "loan_id", "loans", "loan_id"),
            b.in_enum(DATASET, "kind"),
            x.ExpectColumnValuesToBeBetween(
                column="promised_amount",
                min_value=0,
                strict_min=True,
                meta=b.meta("promised_amount not positive", "promised_amount"),
            ),
            x.UnexpectedRowsExpectation(
                unexpected_rows_query="select * from {batch} where created_date > snapshot_date",
                meta=b.meta("created_date after snapshot date", "created_date"),
            ),
            x.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="promised_date",
                column_B="created_date",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta=b.meta("promised_date before created_date", "promised_date"),
            ),
        ],
    )


def warning(config: QualityConfig) -> Any:
    import great_expectations as gx

    x = gx.expectations
    return b.suite(
        f"{DATASET}.warning",
        [
            x.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select b.* from {batch} b join work.loans l on l.loan_id = b.loan_id "
                    "and l.snapshot_date = b.snapshot_date "
                    "where l.status in ('CLOSED', 'WRITTEN_OFF') "
                    "and not coalesce(b.cancelled, false) "
                    "and b.promised_date >= b.snapshot_date"
                ),
                meta=b.meta("open arrangement on a closed loan", "loan_id"),
            ),
            *b.no_personal_patterns(DATASET),
        ],
    )
