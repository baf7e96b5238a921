"""loans.critical / loans.warning: the book at end of D."""

from __future__ import annotations

from typing import Any

from arrears.quality.config import QualityConfig
from expectations import _build as b
from expectations.reference import CURRENCY_REGEX, ISO_4217

DATASET = "loans"


def critical(config: QualityConfig) -> Any:
    import great_expectations as gx

    x = gx.expectations
    return b.suite(
        f"{DATASET}.critical",
        [
            *b.not_null(
                DATASET,
                "loan_id",
                "customer_id",
                "product",
                "branch",
                "currency",
                "origination_date",
                "principal_amount",
                "outstanding_principal",
                "status",
            ),
            b.unique_key(DATASET),
            b.references(DATASET, "customer_id", "customers", "customer_id"),
            x.ExpectColumnValuesToBeBetween(
                column="principal_amount",
                min_value=0,
                strict_min=True,
                meta=b.meta("principal_amount not positive", "principal_amount"),
            ),
            *b.non_negative(DATASET, "outstanding_principal", "source_dpd"),
            b.in_enum(DATASET, "status"),
            x.ExpectColumnValuesToMatchRegex(
                column="currency",
                regex=CURRENCY_REGEX,
                meta=b.meta("currency not an ISO 4217 code", "currency"),
            ),
            x.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select * from {batch} where origination_date > snapshot_date"
                ),
                meta=b.meta("origination_date after snapshot date", "origination_date"),
            ),
            x.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="maturity_date",
                column_B="origination_date",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta=b.meta("maturity_date before origination_date", "maturity_date"),
            ),
        ],
    )


def warning(config: QualityConfig) -> Any:
    import great_expectations as gx

    x = gx.expectations
    return b.suite(
        f"{DATASET}.warning",
        [
            x.ExpectColumnValuesToBeInSet(
                column="currency",
                value_set=list(ISO_4217),
                meta=b.meta("currency not in the ISO 4217 list", "currency"),
            ),
            x.ExpectColumnValuesToBeInSet(
                column="product",
                value_set=list(config.known_products),
                meta=b.meta("product not known", "product"),
            ),
            x.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select * from {batch} where status = 'CLOSED' and outstanding_principal > 0"
                ),
                meta=b.meta("CLOSED with outstanding principal", "outstanding_principal"),
            ),
            x.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select * from {batch} where outstanding_principal > principal_amount"
                ),
                meta=b.meta("outstanding above principal", "outstanding_principal"),
            ),
            *b.no_personal_patterns(DATASET),
        ],
    )
