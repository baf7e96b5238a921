"""actions.critical: the pre-publish suite on work.collection_actions, and the outbox guard.

Nothing reaches a channel unless this suite passes: one action per customer, channel and date;
nobody DECEASED or under LEGAL_HOLD is contacted; consent is respected; contact windows sit
inside the compliance profile in the customer's local time; and outbox files carry only the
personal data their channel needs (docs/CONTRACT.md sections 4 and 6).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from arrears.contract import CHANNELS, PERSONAL_COLUMNS
from arrears.errors import InputRejected
from arrears.publish.columns import ALLOWED_PERSONAL_COLUMNS as _OUTBOX_ALLOWED
from arrears.publish.columns import RECIPIENT_COLUMNS
from expectations import _build as b

DATASET = "collection_actions"

# Contact windows in the customer's local time: cn GB/T 45251-2025, us 12 CFR 1006.6.
PROFILE_WINDOWS: dict[str, tuple[str, str]] = {
    "cn": ("08:00:00", "22:00:00"),
    "us": ("08:00:00", "21:00:00"),
}

# The personal data an outbox file of each channel may carry (branch is not personal).
# One definition of what each channel may receive: the outbox's column map, keyed here by the
# channel as the marts spell it.
ALLOWED_PERSONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    channel.upper(): tuple(c for c in RECIPIENT_COLUMNS[channel] if c in allowed)
    for channel, allowed in _OUTBOX_ALLOWED.items()
}

# Holds under which nobody is contacted at all.
NO_CONTACT_HOLDS = ("DECEASED", "LEGAL_HOLD")


def disallowed_columns(channel: str, columns: Iterable[str]) -> list[str]:
    """Personal-data columns in `columns` that a `channel` outbox file may not carry."""
    allowed = ALLOWED_PERSONAL_COLUMNS.get(channel.upper())
    if allowed is None:
        raise ValueError(f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})")
    return [c for c in columns if c in PERSONAL_COLUMNS and c not in allowed]


def check_outbox_columns(channel: str, columns: Iterable[str]) -> None:
    """Refuse an outbox file whose columns carry personal data its channel does not need.

    Raises InputRejected (exit 3) naming the channel and the offending columns.
    """
    bad = disallowed_columns(channel, columns)
    if bad:
        raise InputRejected(
            f"outbox {channel.lower()}",
            "personal data the channel does not need",
            len(bad),
            bad,
            hint=f"{channel.upper()} may carry only: "
            + ", ".join(ALLOWED_PERSONAL_COLUMNS[channel.upper()]),
        )


def critical(profile: str) -> Any:
    import great_expectations as gx

    if profile not in PROFILE_WINDOWS:
        raise ValueError(f"unknown compliance profile {profile!r}")
    opens, closes = PROFILE_WINDOWS[profile]
    holds = ", ".join(f"'{kind}'" for kind in NO_CONTACT_HOLDS)
    local_start = "timezone(timezone, window_start)"
    local_end = "timezone(timezone, window_end)"
    x = gx.expectations
    return b.suite(
        "actions.critical",
        [
            *(
                x.ExpectColumnValuesToNotBeNull(column=column, meta=b.meta(f"{column} is missing"))
                for column in (
                    "action_id",
                    "customer_id",
                    "primary_loan_id",
                    "channel",
                    "window_start",
                    "window_end",
                    "timezone",
                )
            ),
            x.ExpectColumnValuesToBeUnique(
                column="action_id", meta=b.meta("action_id duplicated", "action_id")
            ),
            x.ExpectColumnValuesToBeInSet(
                column="channel",
                value_set=list(CHANNELS),
                meta=b.meta("channel not a known value", "channel"),
            ),
            x.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select * from (select *, count(*) over "
                    "(partition by customer_id, channel, action_date) as actions "
                    "from {batch}) where actions > 1"
                ),
                meta=b.meta("more than one action per customer, channel and date", "channel"),
            ),
            x.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select b.* from {batch} b semi join work.holds h "
                    f"on h.customer_id = b.customer_id and h.kind in ({holds}) "
                    "and h.start_date <= b.action_date "
                    "and (h.end_date is null or h.end_date >= b.action_date) "
                    "and (h.loan_id is null or list_contains(b.loan_ids, h.loan_id))"
                ),
                meta=b.meta("action for a DECEASED or LEGAL_HOLD customer", "channel"),
            ),
            x.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select b.* from {batch} b semi join work.customers c "
                    "on c.customer_id = b.customer_id "
                    "and ((b.channel = 'SMS' and c.consent_sms = false) "
                    "or (b.channel = 'CALL' and c.consent_call = false) "
                    "or (b.channel = 'EMAIL' and c.consent_email = false))"
                ),
                meta=b.meta("action without consent", "channel"),
            ),
            x.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select * from {batch} where window_end <= window_start "
                    f"or cast({local_start} as date) <> action_date "
                    f"or cast({local_end} as date) <> action_date "
                    f"or cast({local_start} as time) < time '{opens}' "
                    f"or cast({local_end} as time) > time '{closes}'"
                ),
                meta=b.meta(f"contact window outside {opens[:5]}-{closes[:5]} local", "channel"),
            ),
        ],
    )
