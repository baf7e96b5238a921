"""What each channel's outbox file carries, column by column, and the personal-data guard.

The single definition of which personal columns a channel may receive (CONTRACT section 6):
the outbox writer selects exactly these columns, and `check_personal_columns`, the one guard,
refuses any file whose columns reach beyond them: the pre-publish suite (actions.critical)
runs it on every channel's columns, and the writer runs it again on the query it is about to
write.
"""

from __future__ import annotations

from collections.abc import Iterable

from arrears.contract import CHANNELS, PERSONAL_COLUMNS
from arrears.errors import InputRejected

# One channel spelling for values: upper case, as in the marts, the strategy, PostgreSQL, the
# manifests and the schema files. Only file names use it in lower case (CONTRACT section 7).
OUTBOX_CHANNELS: tuple[str, ...] = tuple(c.lower() for c in CHANNELS)

# Action columns every channel file starts with (from marts.collection_actions).
ACTION_COLUMNS_HEAD: tuple[str, ...] = (
    "action_id",
    "action_date",
    "customer_id",
    "loan_ids",
    "primary_loan_id",
    "stage",
    "priority",
    "overdue_amount",
    "outstanding_amount",
    "currency",
    "window_start",
    "window_end",
    "timezone",
)
ACTION_COLUMNS_TAIL: tuple[str, ...] = (
    "template",
    "strategy_version",
    "strategy_variant",
)
# Only CALL has an attempt limit.
CHANNEL_ACTION_EXTRAS: dict[str, tuple[str, ...]] = {"call": ("max_attempts",)}

# Recipient data per channel, joined at publish time (customers; branch from loan_aging).
RECIPIENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "sms": ("phone",),
    "call": ("phone", "full_name"),
    "email": ("email",),
    "letter": ("full_name", "address", "city", "province", "postal_code"),
    "visit": ("full_name", "address", "city", "province", "postal_code", "branch"),
    "legal": ("full_name", "national_id"),
}

# The personal columns (arrears.contract marks them) each channel is allowed to receive.
ALLOWED_PERSONAL_COLUMNS: dict[str, frozenset[str]] = {
    channel: frozenset(c for c in columns if c in PERSONAL_COLUMNS)
    for channel, columns in RECIPIENT_COLUMNS.items()
}


# The type of every outbox column, as the schema files (`<channel>.schema.json`) state it and
# the Parquet files store it. A column added above needs its type here: the schema test fails
# otherwise. CSV renders each as text, the way CSV_RENDERING says (types a reader restores).
COLUMN_TYPES: dict[str, str] = {
    "action_id": "string",
    "action_date": "date",
    "customer_id": "string",
    "loan_ids": "list<string>",
    "primary_loan_id": "string",
    "stage": "string",
    "priority": "int32",
    "overdue_amount": "decimal(18,2)",
    "outstanding_amount": "decimal(18,2)",
    "currency": "string",
    "window_start": "timestamp(us,UTC)",
    "window_end": "timestamp(us,UTC)",
    "timezone": "string",
    "max_attempts": "int32",
    "template": "string",
    "strategy_version": "string",
    "strategy_variant": "string",
    "phone": "string",
    "full_name": "string",
    "email": "string",
    "national_id": "string",
    "address": "string",
    "city": "string",
    "province": "string",
    "postal_code": "string",
    "branch": "string",
}
CSV_RENDERING: dict[str, str] = {
    "string": "text as is",
    "date": "YYYY-MM-DD",
    "int32": "decimal digits",
    "decimal(18,2)": "plain decimal with exactly two places (1200.40); never a float",
    "timestamp(us,UTC)": "ISO 8601 in the action's time zone with its offset",
    "list<string>": "the values joined with ';'",
}
SCHEMA_VERSION = 1


def channel_schema(channel: str) -> dict[str, object]:
    """The content of `<channel>.schema.json`: the same every day, whatever the rows."""
    name = _known(channel)
    return {
        "schema_version": SCHEMA_VERSION,
        "channel": name.upper(),
        "files": [f"{name}.parquet", f"{name}.csv"],
        "csv": {"delimiter": ",", "quote": '"', "header": True, "null": ""},
        "columns": [
            {
                "name": column,
                "type": COLUMN_TYPES[column],
                "csv": CSV_RENDERING[COLUMN_TYPES[column]],
            }
            for column in channel_columns(name)
        ],
    }


class PersonalDataViolation(InputRejected):
    """A file was about to carry personal data its channel is not allowed to receive.

    Exit 3, as for any refusal by validation: a leak found before publishing is a refusal to
    publish. Nothing went out, the run ends REJECTED, and the operator reads the channel, the
    columns and what the channel may carry, like any other rule that stopped the run.
    """


def channel_columns(channel: str) -> tuple[str, ...]:
    """The columns of `<channel>.parquet` / `<channel>.csv`, in file order."""
    channel = _known(channel)
    return (
        ACTION_COLUMNS_HEAD
        + CHANNEL_ACTION_EXTRAS.get(channel, ())
        + ACTION_COLUMNS_TAIL
        + RECIPIENT_COLUMNS[channel]
    )


def personal_columns_beyond(channel: str, columns: Iterable[str]) -> list[str]:
    """The personal columns in `columns` (any case) that `channel` may not receive."""
    channel = _known(channel)
    personal = {c.lower() for c in columns} & set(PERSONAL_COLUMNS)
    return sorted(personal - ALLOWED_PERSONAL_COLUMNS[channel])


def check_personal_columns(channel: str, columns: Iterable[str]) -> None:
    """Raise PersonalDataViolation when `columns` carry personal data beyond the allowance."""
    extra = personal_columns_beyond(channel, columns)
    if extra:
        name = _known(channel)
        allowed = [c for c in RECIPIENT_COLUMNS[name] if c in ALLOWED_PERSONAL_COLUMNS[name]]
        raise PersonalDataViolation(
            f"outbox {name}",
            "personal data the channel does not need",
            len(extra),
            extra,
            hint=f"{name.upper()} may carry only: {', '.join(allowed) or 'none'}",
            unit="column",
        )


def _known(channel: str) -> str:
    name = channel.lower()
    if name not in RECIPIENT_COLUMNS:
        raise ValueError(
            f"unknown channel {channel!r}; expected one of {', '.join(OUTBOX_CHANNELS)}"
        )
    return name
