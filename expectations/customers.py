"""customers.critical / customers.warning: the only dataset with personal data.

No rule records a personal value: a bad phone is quarantined under its rule, without the number.
"""

from __future__ import annotations

from typing import Any

from arrears.quality.config import QualityConfig
from expectations import _build as b
from expectations.reference import PHONE_REGEX

DATASET = "customers"


def critical(config: QualityConfig) -> Any:
    import great_expectations as gx

    x = gx.expectations
    return b.suite(
        f"{DATASET}.critical",
        [
            *b.not_null(DATASET, "customer_id", "full_name"),
            b.unique_key(DATASET),
            x.ExpectColumnValuesToMatchRegex(
                column="phone",
                regex=PHONE_REGEX,
                meta=b.meta("phone not E.164 or a mainland mobile number"),
            ),
        ],
    )


def warning(config: QualityConfig) -> Any:
    import great_expectations as gx

    x = gx.expectations
    return b.suite(
        f"{DATASET}.warning",
        [
            # DuckDB's own zone list: the one that turns contact windows into local time.
            x.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select * from {batch} where timezone is not null "
                    "and timezone not in (select name from pg_timezone_names())"
                ),
                meta=b.meta("timezone not an IANA name", "timezone"),
            ),
            x.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select * from {batch} where phone is null and email is null "
                    "and address is null"
                ),
                meta=b.meta("no contact data"),
            ),
            *b.no_personal_patterns(DATASET),
        ],
    )
