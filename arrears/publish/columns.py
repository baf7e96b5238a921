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

# Outbox file names use the channel in lower case; the mart stores it in upper case.
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
