"""The personal-data outcomes of the pre-publish suite: no personal column in the action list,
and no outbox file carrying personal data its channel does not need.

The allowance and the guard are defined once, in arrears.publish.columns; this module only
turns them into Outcomes recorded with actions.critical.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import duckdb

from arrears.contract import PERSONAL_COLUMNS
from arrears.publish.columns import (
    ALLOWED_PERSONAL_COLUMNS as _OUTBOX_ALLOWED,
)
from arrears.publish.columns import (
    RECIPIENT_COLUMNS,
    personal_columns_beyond,
)
from arrears.quality.report import Outcome

# The same allowance keyed by the channel as the marts spell it (SMS, CALL, ...), in the
# outbox's column order.
ALLOWED_PERSONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    channel.upper(): tuple(c for c in RECIPIENT_COLUMNS[channel] if c in allowed)
    for channel, allowed in _OUTBOX_ALLOWED.items()
}


# The outcomes below count columns, not rows.
COLUMN_CHECKS = frozenset({"table_columns", "outbox_columns"})


def personal_column_outcomes(
    con: duckdb.DuckDBPyConnection, outbox_columns: Mapping[str, Iterable[str]] | None
) -> list[Outcome]:
    columns = [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'work' and table_name = 'collection_actions'"
        ).fetchall()
    ]
    personal = tuple(c for c in columns if c in PERSONAL_COLUMNS)
    outcomes = [
        Outcome(
            "personal data column in the action list",
            "table_columns",
            None,
            not personal,
            len(personal),
            personal,
            row_level=False,
        )
    ]
    for channel, channel_columns in sorted((outbox_columns or {}).items()):
        bad = tuple(personal_columns_beyond(channel, channel_columns))
        outcomes.append(
            Outcome(
                f"{channel.upper()} outbox carries personal data it does not need",
                "outbox_columns",
                None,
                not bad,
                len(bad),
                bad,
                row_level=False,
            )
        )
    return outcomes
