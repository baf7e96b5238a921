"""actions.critical: the pre-publish suite on work.collection_actions.

Nothing reaches a channel unless this suite passes: one action per customer, channel and date;
nobody DECEASED or under LEGAL_HOLD is contacted; consent is respected; contact windows sit
inside the compliance profile in the customer's local time. That outbox files carry only the
personal data their channel needs (docs/CONTRACT.md sections 4 and 6) is checked beside it by
arrears.quality.personal_data, with the one guard of arrears.publish.columns.
"""

from __future__ import annotations

from typing import Any

from arrears.contract import CHANNELS
from expectations import _build as b

DATASET = "collection_actions"

# Contact windows in the customer's local time: cn GB/T 45251-2025, us 12 CFR 1006.6.
PROFILE_WINDOWS: dict[str, tuple[str, str]] = {
    "cn": ("08:00:00", "22:00:00"),
    "us": ("08:00:00", "21:00:00"),
}

# Holds under which nobody is contacted at all.
NO_CONTACT_HOLDS = ("DECEASED", "LEGAL_HOLD")


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
