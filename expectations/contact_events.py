"""contact_events.critical / contact_events.warning: the new outcomes reported for D."""

from __future__ import annotations

from typing import Any

from arrears.quality.config import QualityConfig
from expectations import _build as b

DATASET = "contact_events"


def critical(config: QualityConfig) -> Any:
    return b.suite(
        f"{DATASET}.critical",
        [
            *b.not_null(DATASET, "event_id", "customer_id", "channel", "occurred_at", "outcome"),
            b.unique_key(DATASET),
            b.in_enum(DATASET, "channel"),
            b.in_enum(DATASET, "outcome"),
        ],
    )


def warning(config: QualityConfig) -> Any:
    import great_expectations as gx

    x = gx.expectations
    return b.suite(
        f"{DATASET}.warning",
        [
            b.references(DATASET, "customer_id", "customers", "customer_id"),
            # Two days of slack: D is a local date and occurred_at may carry any offset.
            x.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select * from {batch} "
                    "where cast(occurred_at as date) > snapshot_date + interval 1 day"
                ),
                meta=b.meta("occurred_at after snapshot date", "occurred_at"),
            ),
            *b.no_personal_patterns(DATASET),
        ],
    )
