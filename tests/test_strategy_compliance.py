"""CONTRACT section 4, profiles cn and us: windows in local time, call caps, one SMS a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from strategy_support import A, Book, D, strategy

UTC = UTC
NEW_YORK = ZoneInfo("America/New_York")


def windows(book: Book) -> dict[tuple[str, str], tuple[datetime, datetime, str]]:
    return {
        (r[0], r[1]): (r[2].astimezone(UTC), r[3].astimezone(UTC), r[4])
        for r in book.rows(
            "select customer_id, channel, window_start, window_end, timezone"
            " from work.collection_actions"
        )
    }


def test_cn_window_in_the_customers_time_zone():
    book = Book.new().customer("C1").customer("C2", timezone="Asia/Urumqi")
    book.customer("C3", timezone=" ")
    for c in ("C1", "C2", "C3"):
        book.loan(f"L{c}", c, 3, overdue=10)
    book.run(strategy("cn"), timezone="Asia/Shanghai")
    got = windows(book)
    # 08:00-22:00 local on 2025-07-01: Shanghai is UTC+8, Urumqi UTC+6
    assert got[("C1", "SMS")] == (
        datetime(2025, 7, 1, 0, tzinfo=UTC),
        datetime(2025, 7, 1, 14, tzinfo=UTC),
        "Asia/Shanghai",
    )
    assert got[("C2", "SMS")] == (
        datetime(2025, 7, 1, 2, tzinfo=UTC),
        datetime(2025, 7, 1, 16, tzinfo=UTC),
        "Asia/Urumqi",
    )
    assert got[("C3", "SMS")][2] == "Asia/Shanghai"


def test_us_window_and_default_time_zone_from_settings():
    book = Book.new().customer("C1").customer("C2", timezone="America/Los_Angeles")
    book.loan("L1", "C1", 3, overdue=10).loan("L2", "C2", 3, overdue=10)
    book.run(strategy("us"), timezone="America/New_York")
    got = windows(book)
    # 08:00-21:00 EDT (UTC-4) and PDT (UTC-7)
    assert got[("C1", "SMS")] == (
        datetime(2025, 7, 1, 12, tzinfo=UTC),
        datetime(2025, 7, 2, 1, tzinfo=UTC),
        "America/New_York",
    )
    assert got[("C2", "SMS")][:2] == (
        datetime(2025, 7, 1, 15, tzinfo=UTC),
        datetime(2025, 7, 2, 4, tzinfo=UTC),
    )


def test_unknown_time_zone_is_suppressed_for_window():
    book = Book.new().customer("C1", timezone="Mars/Olympus").loan("L1", "C1", 3, overdue=10)
    book.run()
    assert book.actions().height == 0
    assert book.suppressed("channel", "reason", "detail").to_dicts() == [
        {"channel": "SMS", "reason": "WINDOW", "detail": "unknown time zone Mars/Olympus"}
    ]


def test_cn_call_max_attempts():
    book = Book.new().customer("C1").loan("L1", "C1", 10, overdue=100)
    # earlier days' calls do not limit tomorrow under cn: the caps are per day
    for i in range(8):
        book.event(f"E{i}", "C1", "L1", datetime(2025, 6, 30, 9 + i, tzinfo=UTC), "NO_ANSWER")
    book.run(strategy("cn"))
    assert book.rows("select channel, max_attempts from work.collection_actions order by 1") == [
        ("CALL", 6),
        ("SMS", None),
    ]


def at_new_york(day: datetime) -> datetime:
    return day.replace(tzinfo=NEW_YORK)


def us_book() -> Book:
    return Book.new().customer("C1", timezone="America/New_York").loan("L1", "C1", 10, overdue=100)


@pytest.mark.parametrize(("attempts", "max_attempts"), [(0, 7), (1, 6), (5, 2), (6, 1)])
def test_us_attempts_left_in_seven_days(attempts, max_attempts):
    book = us_book()
    for i in range(attempts):
        # spread over 2025-06-25 .. 06-30, inside the 7 days that end on the action date 07-01
        when = at_new_york(datetime(2025, 6, 25 + i % 6, 10, i))
        book.event(
            f"E{i}",
            "C1",
            "L1",
            when,
            "NO_ANSWER",
            table="raw.contact_events",
            snapshot_date=D - timedelta(days=1),
        )
    book.run(strategy("us"), timezone="America/New_York")
    assert book.rows("select max_attempts from work.collection_actions where channel = 'CALL'") == [
        (max_attempts,)
    ]


def test_us_seven_attempts_is_a_cap():
    book = us_book()
    for i in range(7):
        book.event(f"E{i}", "C1", "L1", at_new_york(datetime(2025, 6, 26, 9 + i)), "NO_ANSWER")
    book.run(strategy("us"), timezone="America/New_York")
    assert book.rows("select channel from work.collection_actions") == [("SMS",)]
    assert book.suppressed("channel", "reason", "detail").to_dicts() == [
        {"channel": "CALL", "reason": "CAP", "detail": "7 call attempts in 7 days"}
    ]


def test_us_attempts_counted_on_local_dates():
    book = us_book()
    # 23:30 on 06-24 in New York is 06-25 in UTC: outside the period 06-25 .. 07-01
    for i in range(7):
        book.event(f"E{i}", "C1", "L1", at_new_york(datetime(2025, 6, 24, 23, 30 + i)), "NO_ANSWER")
    book.run(strategy("us"), timezone="America/New_York")
    assert book.rows("select max_attempts from work.collection_actions where channel = 'CALL'") == [
        (7,)
    ]


def test_us_events_without_loan_count_for_every_loan_and_repeats_once():
    book = us_book()
    book.event("E1", "C1", None, at_new_york(datetime(2025, 6, 29, 10)), "NO_ANSWER")
    book.event(
        "E2",
        "C1",
        "L1",
        at_new_york(datetime(2025, 6, 29, 11)),
        "NO_ANSWER",
        table="raw.contact_events",
        snapshot_date=D - timedelta(days=1),
    )
    book.event("E2", "C1", "L1", at_new_york(datetime(2025, 6, 29, 11)), "NO_ANSWER")
    book.event("E3", "C2", "L9", at_new_york(datetime(2025, 6, 29, 11)), "NO_ANSWER")
    book.event("E4", "C1", "L1", at_new_york(datetime(2025, 6, 29, 12)), "DELIVERED", channel="SMS")
    book.run(strategy("us"), timezone="America/New_York")
    assert book.rows("select max_attempts from work.collection_actions where channel = 'CALL'") == [
        (5,)
    ]


@pytest.mark.parametrize(
    ("connected_on", "blocked"),
    [
        (datetime(2025, 6, 25, 15), True),  # day 1 of 7 is 06-25: 06-25 .. 07-01
        (datetime(2025, 6, 24, 15), False),  # 06-24 .. 06-30: the action date is free
        (datetime(2025, 6, 30, 15), True),
    ],
)
def test_us_no_call_within_seven_days_of_a_conversation(connected_on, blocked):
    book = us_book()
    book.event("E1", "C1", "L1", at_new_york(connected_on), "CONNECTED")
    book.run(strategy("us"), timezone="America/New_York")
    calls = book.rows("select max_attempts from work.collection_actions where channel = 'CALL'")
    if blocked:
        assert calls == []
        detail = f"connected call on {connected_on.date()}: no call for 7 days"
        assert book.suppressed("channel", "reason", "detail").to_dicts() == [
            {"channel": "CALL", "reason": "CAP", "detail": detail}
        ]
    else:
        assert calls == [(7,)]  # 06-24 is also outside the 7-day attempt period


def test_us_caps_are_per_loan():
    book = Book.new().customer("C1", timezone="America/New_York")
    book.loan("L1", "C1", 10, overdue=100).loan("L2", "C1", 12, overdue=100)
    book.event("E1", "C1", "L1", at_new_york(datetime(2025, 6, 29, 10)), "CONNECTED")
    book.event("E2", "C1", "L2", at_new_york(datetime(2025, 6, 29, 10)), "NO_ANSWER")
    book.run(strategy("us"), timezone="America/New_York")
    assert book.rows(
        "select loan_ids, max_attempts from work.collection_actions where channel = 'CALL'"
    ) == [(["L2"], 6)]
    assert book.rows("select loan_ids, reason from work.suppressed_actions") == [(["L1"], "CAP")]


def test_one_sms_a_day_per_customer():
    """A promise reminder and a stage SMS on the same day: the reminder goes, the other waits."""
    book = Book.new().customer("C1")
    book.loan("L1", "C1", 20, overdue=100).loan("L2", "C1", 3, overdue=50)
    book.arrangement("P1", "L1", D - timedelta(days=3), A + timedelta(days=1), 100)
    book.run()
    assert book.actions("channel", "stage", "loan_ids", "template").to_dicts() == [
        {
            "channel": "SMS",
            "stage": "ARRANGEMENT",
            "loan_ids": ["L1"],
            "template": "promise_reminder_sms",
        },
    ]
    assert book.suppressed("channel", "stage", "reason", "loan_ids").to_dicts() == [
        {"channel": "CALL", "stage": "CALL", "reason": "ARRANGEMENT", "loan_ids": ["L1"]},
        {"channel": "SMS", "stage": "CALL", "reason": "ARRANGEMENT", "loan_ids": ["L1"]},
        {"channel": "SMS", "stage": "REMINDER", "reason": "CAP", "loan_ids": ["L2"]},
    ]
