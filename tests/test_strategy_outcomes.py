"""CONTRACT section 9: contact outcomes that change the next nights' actions, and how each ends.

WRONG_PARTY on SMS or CALL blocks the phone (BAD_PHONE), FAILED on LETTER or NOT_FOUND on VISIT
the address (BAD_ADDRESS, marts.skip_trace), while the value stays the customer's; DISPUTE is a
DISPUTE hold for dispute_days unless the holds file takes it over; PROMISE allows no
escalation for promise_grace_days until the arrangement lands.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from strategy_support import DEFAULT_STRATEGY, A, Book, D, strategy

from arrears import registry
from arrears.errors import ConfigError
from arrears.strategy import load_strategy

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def outcome(book: Book) -> tuple[set[str], set[tuple[str, str]]]:
    done = {r[0] for r in book.rows("select channel from work.collection_actions")}
    held = {(r[0], r[1]) for r in book.rows("select channel, reason from work.suppressed_actions")}
    return done, held


def detail(book: Book, channel: str) -> str:
    rows = book.rows(
        f"select detail from work.suppressed_actions where channel = '{channel}' order by reason"
    )
    return rows[0][0]


def call_stage(**customer: str | None) -> Book:
    """A customer at dpd 10: CALL every day and SMS every 7 days are due."""
    return Book.new().customer("C1", **customer).loan("L1", "C1", 10, overdue=300)


def visit_stage() -> Book:
    """A customer at dpd 70 owing 6,000: VISIT and CALL are due."""
    return Book.new().customer("C1").loan("L1", "C1", 70, overdue=6000)


def letter_stage() -> Book:
    """A customer at dpd 40: LETTER and CALL are due."""
    return Book.new().customer("C1").loan("L1", "C1", 40, overdue=300)


# -- configuration ----------------------------------------------------------------------------


def test_the_rules_default_to_section_9_with_or_without_the_section(tmp_path):
    bundled = strategy()
    assert (bundled.outcomes.dispute_days, bundled.outcomes.promise_grace_days) == (30, 3)
    document = yaml.safe_load(DEFAULT_STRATEGY.read_text(encoding="utf-8"))
    del document["outcomes"]
    path = tmp_path / "strategy.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    assert load_strategy(path, "cn").outcomes == bundled.outcomes


@pytest.mark.parametrize(
    ("outcomes", "message"),
    [
        ({"dispute_days": -1}, "outcomes.dispute_days: "),
        ({"promise_grace_days": "soon"}, "outcomes.promise_grace_days: "),
        ({"wrong_party_days": 3}, "outcomes: unknown field 'wrong_party_days'"),
    ],
)
def test_bad_outcome_settings_are_refused(tmp_path, outcomes, message):
    with pytest.raises(ConfigError, match=message):
        strategy(tmp_path=tmp_path, outcomes=outcomes)


# -- WRONG_PARTY: the phone -----------------------------------------------------------------


@pytest.mark.parametrize("channel", ["CALL", "SMS"])
def test_wrong_party_blocks_the_phone_for_sms_and_call(channel):
    book = call_stage().event("E1", "C1", "L1", at(D), "WRONG_PARTY", channel=channel)
    book.run()
    assert outcome(book) == (set(), {("CALL", "BAD_PHONE"), ("SMS", "BAD_PHONE")})
    assert detail(book, "CALL") == (
        f"phone reported WRONG_PARTY by {channel} (landed {D}): not used until it changes"
    )


def test_wrong_party_leaves_letter_and_visit_alone():
    book = letter_stage().event("E1", "C1", "L1", at(D), "WRONG_PARTY")
    book.run()
    assert outcome(book) == ({"LETTER"}, {("CALL", "BAD_PHONE")})


@pytest.mark.parametrize(
    ("channel", "reported"),
    [("VISIT", "WRONG_PARTY"), ("CALL", "NO_ANSWER"), ("CALL", "REFUSED"), ("SMS", "FAILED")],
)
def test_other_outcomes_leave_the_phone_in_use(channel, reported):
    book = call_stage().event("E1", "C1", "L1", at(D), reported, channel=channel)
    book.run()
    assert outcome(book) == ({"CALL", "SMS"}, set())


def test_the_phone_stays_blocked_until_it_changes_then_is_used_again():
    book = call_stage(phone="13800138000").event("E1", "C1", "L1", at(D), "WRONG_PARTY")
    book.run()
    assert outcome(book)[1] == {("CALL", "BAD_PHONE"), ("SMS", "BAD_PHONE")}
    book.next_day()
    book.run()
    assert outcome(book) == (set(), {("CALL", "BAD_PHONE"), ("SMS", "BAD_PHONE")})
    # only formatting changed: the same number
    book.change_customer("C1", phone="138-0013 8000")
    book.next_day()
    book.run()
    assert outcome(book)[0] == set()
    book.change_customer("C1", phone="13900139000")
    book.next_day()
    book.run()
    assert outcome(book) == ({"CALL", "SMS"}, set())


def test_a_number_reported_wrong_is_blocked_again_when_it_comes_back():
    book = call_stage(phone="13800138000").event("E1", "C1", "L1", at(D), "WRONG_PARTY")
    book.run()
    book.change_customer("C1", phone="13900139000")
    book.next_day()
    book.run()
    assert outcome(book) == ({"CALL", "SMS"}, set())
    book.change_customer("C1", phone="13800138000")
    book.next_day()
    book.run()
    assert outcome(book)[1] == {("CALL", "BAD_PHONE")}


def test_a_new_number_reported_wrong_is_blocked_from_its_own_report():
    book = call_stage().event("E1", "C1", "L1", at(D), "WRONG_PARTY")
    book.run()
    book.change_customer("C1", phone="13900139000")
    book.next_day()
    book.event("E2", "C1", "L1", at(book.day), "WRONG_PARTY")
    book.run()
    assert outcome(book) == (set(), {("CALL", "BAD_PHONE"), ("SMS", "BAD_PHONE")})
    assert book.day == A
    assert detail(book, "CALL").endswith(f"(landed {A}): not used until it changes")
    book.commit()
    assert book.rows("select snapshot_date, event_id from raw.contact_fingerprints order by 1") == [
        (D, "E1"),
        (A, "E2"),
    ]


def test_a_rerun_of_the_night_records_the_report_once():
    book = call_stage().event("E1", "C1", "L1", at(D), "WRONG_PARTY")
    book.event("E2", "C1", "L1", at(D, 11), "WRONG_PARTY")
    for _ in range(2):
        book.run()
        book.commit()
    assert book.rows("select event_id, contact from raw.contact_fingerprints") == [("E1", "PHONE")]
    book.next_day()
    # the same number reported again later keeps its first report
    book.event("E3", "C1", "L1", at(book.day), "WRONG_PARTY")
    book.run()
    assert book.rows("select count(*) from work.contact_fingerprints") == [(0,)]
    assert detail(book, "CALL").endswith(f"(landed {D}): not used until it changes")


def test_a_customer_without_the_number_on_file_is_not_blocked():
    book = call_stage(phone=None).event("E1", "C1", "L1", at(D), "WRONG_PARTY")
    book.run()
    assert outcome(book)[1] == {("CALL", "NO_CONTACT_DATA"), ("SMS", "NO_CONTACT_DATA")}
    assert book.rows("select count(*) from work.contact_fingerprints") == [(0,)]


# -- FAILED letters, NOT_FOUND visits: the address, and skip tracing --------------------------


@pytest.mark.parametrize(("channel", "reported"), [("LETTER", "FAILED"), ("VISIT", "NOT_FOUND")])
def test_a_returned_letter_or_a_visit_not_found_blocks_the_address(channel, reported):
    book = visit_stage().event("E1", "C1", "L1", at(D), reported, channel=channel)
    book.run()
    assert outcome(book) == ({"CALL"}, {("VISIT", "BAD_ADDRESS")})
    assert detail(book, "VISIT") == (
        f"address reported {reported} by {channel} (landed {D}): not used until it changes"
    )
    assert book.skip_trace() == [("C1", D, "E1", channel, reported, ["LETTER", "VISIT"])]


@pytest.mark.parametrize(("channel", "reported"), [("LETTER", "NOT_FOUND"), ("SMS", "FAILED")])
def test_other_failures_leave_the_address_in_use(channel, reported):
    book = letter_stage().event("E1", "C1", "L1", at(D), reported, channel=channel)
    book.run()
    assert outcome(book) == ({"CALL", "LETTER"}, set())
    assert book.skip_trace() == []


def test_skip_trace_lists_every_blocked_channel():
    book = letter_stage().event("E1", "C1", "L1", at(D, 9), "FAILED", channel="LETTER")
    book.event("E2", "C1", "L1", at(D, 11), "WRONG_PARTY")
    book.run()
    assert outcome(book) == (set(), {("CALL", "BAD_PHONE"), ("LETTER", "BAD_ADDRESS")})
    assert book.skip_trace() == [
        ("C1", D, "E1", "LETTER", "FAILED", ["SMS", "CALL", "LETTER", "VISIT"])
    ]


def test_the_address_is_used_again_once_any_part_of_it_changes():
    book = letter_stage().event("E1", "C1", "L1", at(D), "FAILED", channel="LETTER")
    book.run()
    book.next_day()
    # the same address written differently
    book.change_customer("C1", address="  1  CENTURY avenue ")
    book.run()
    assert outcome(book)[1] == {("LETTER", "BAD_ADDRESS")}
    assert [row[1] for row in book.skip_trace()] == [D]
    book.change_customer("C1", postal_code="200120")
    book.next_day()
    book.run()
    assert outcome(book) == ({"CALL", "LETTER"}, set())
    assert book.skip_trace() == []


def test_skip_trace_only_lists_customers_on_the_book():
    book = letter_stage().event("E1", "C1", "L1", at(D), "FAILED", channel="LETTER")
    book.run()
    book.next_day()
    book.con.execute("update work.loan_aging set status = 'CLOSED', is_aged = false")
    book.run()
    assert book.skip_trace() == []


# -- DISPUTE: a hold for dispute_days ---------------------------------------------------------


def test_a_dispute_is_a_dispute_hold():
    book = letter_stage().event("E1", "C1", "L1", at(D), "DISPUTE")
    book.run()
    assert outcome(book) == ({"LETTER"}, {("CALL", "HOLD_DISPUTE")})
    end = D + timedelta(days=30)
    assert detail(book, "CALL") == f"DISPUTE reported by CALL on {D}: held through {end}"


def disputed(days_ago: int, outcome_name: str = "DISPUTE", dpd: int = 40) -> Book:
    """An outcome reported `days_ago` days before D, landed and committed with that night."""
    day = D - timedelta(days=days_ago)
    book = Book.new().customer("C1").loan("L1", "C1", dpd, overdue=300)
    book.history(day, "L1", "C1", dpd - days_ago, overdue=300)
    book.event(
        "E1", "C1", "L1", at(day), outcome_name, table="raw.contact_events", snapshot_date=day
    )
    return book


@pytest.mark.parametrize(("days_ago", "held"), [(1, True), (29, True), (30, False)])
def test_the_dispute_hold_ends_after_dispute_days(days_ago, held):
    book = disputed(days_ago)
    book.run()
    assert (("CALL", "HOLD_DISPUTE") in outcome(book)[1]) is held
    assert ("CALL" in outcome(book)[0]) is not held


def test_dispute_days_are_configurable(tmp_path):
    # reported on D - 5: held through D - 5 + dispute_days, so on A = D + 1 from 6 days on
    book = disputed(5)
    book.run(strategy(tmp_path=tmp_path, outcomes={"dispute_days": 6}))
    assert outcome(book)[1] == {("CALL", "HOLD_DISPUTE")}
    book.run(strategy(tmp_path=tmp_path, outcomes={"dispute_days": 5}))
    assert outcome(book) == ({"CALL", "LETTER"}, set())
    book = letter_stage().event("E1", "C1", "L1", at(D), "DISPUTE")
    book.run(strategy(tmp_path=tmp_path, outcomes={"dispute_days": 0}))
    assert outcome(book) == ({"CALL", "LETTER"}, set())


def test_a_dispute_hold_in_the_holds_file_takes_over_with_its_own_dates():
    # the lender records the dispute and closes it before the 30 days are over
    book = disputed(5).hold("C1", "DISPUTE", D - timedelta(days=5), D)
    book.run()
    assert outcome(book) == ({"CALL", "LETTER"}, set())
    # ... or leaves it open: it holds, as the file says
    book = disputed(29).hold("C1", "DISPUTE", D - timedelta(days=40))
    book.run()
    assert outcome(book)[1] == {("CALL", "HOLD_DISPUTE")}
    assert detail(book, "CALL") == f"DISPUTE hold on the customer since {D - timedelta(days=40)}"


def test_a_hold_of_another_kind_from_the_dispute_on_takes_over():
    book = disputed(2, dpd=10).hold("C1", "HARDSHIP", D - timedelta(days=1))
    book.run()
    assert outcome(book) == ({"SMS"}, {("CALL", "HOLD_HARDSHIP")})


def test_holds_that_ended_or_began_before_the_dispute_do_not_take_over():
    book = disputed(3, dpd=10)
    book.hold("C1", "DISPUTE", D - timedelta(days=60), D - timedelta(days=10))
    book.hold("C1", "HARDSHIP", D - timedelta(days=20))
    book.run()
    assert outcome(book) == (set(), {("CALL", "HOLD_DISPUTE"), ("SMS", "HOLD_DISPUTE")})


def test_the_latest_dispute_counts():
    book = disputed(40)
    book.event("E2", "C1", "L1", at(D - timedelta(days=2)), "DISPUTE")
    book.run()
    assert detail(book, "CALL").startswith(f"DISPUTE reported by CALL on {D - timedelta(days=2)}")


# -- PROMISE: no escalation until the arrangement lands -------------------------------------


def test_a_promise_allows_no_escalation_only_sms():
    book = call_stage().event("E1", "C1", "L1", at(D), "PROMISE")
    book.run()
    assert outcome(book) == ({"SMS"}, {("CALL", "PROMISE_GRACE")})
    end = D + timedelta(days=3)
    assert detail(book, "CALL") == (
        f"PROMISE reported by CALL on {D}: no escalation through {end} "
        "or until the arrangement is recorded"
    )
    book = letter_stage().event("E1", "C1", "L1", at(D), "PROMISE", channel="VISIT")
    book.run()
    assert outcome(book) == (set(), {("CALL", "PROMISE_GRACE"), ("LETTER", "PROMISE_GRACE")})


@pytest.mark.parametrize(("days_ago", "held"), [(1, True), (2, True), (3, False)])
def test_the_promise_grace_ends_after_promise_grace_days(days_ago, held):
    book = disputed(days_ago, "PROMISE")
    book.run()
    assert (("LETTER", "PROMISE_GRACE") in outcome(book)[1]) is held
    assert ("LETTER" in outcome(book)[0]) is not held


def test_promise_grace_days_are_configurable(tmp_path):
    book = disputed(5, "PROMISE")
    book.run(strategy(tmp_path=tmp_path, outcomes={"promise_grace_days": 6}))
    assert outcome(book)[1] == {("CALL", "PROMISE_GRACE"), ("LETTER", "PROMISE_GRACE")}
    book.run(strategy(tmp_path=tmp_path, outcomes={"promise_grace_days": 0}))
    assert outcome(book) == ({"CALL", "LETTER"}, set())


def test_the_arrangement_landing_ends_the_grace():
    book = disputed(1, "PROMISE")
    book.run()
    assert outcome(book)[1] == {("CALL", "PROMISE_GRACE"), ("LETTER", "PROMISE_GRACE")}
    # the promise recorded: the arrangement's own rule applies (ACTIVE: no escalation)
    book.arrangement("P1", "L1", D - timedelta(days=1), D + timedelta(days=5), 300)
    book.run()
    assert outcome(book) == (set(), {("CALL", "ARRANGEMENT"), ("LETTER", "ARRANGEMENT")})


def test_an_arrangement_recorded_before_the_promise_does_not_end_the_grace():
    book = disputed(1, "PROMISE")
    # an older promise, broken: the loan would go to its stage at once
    book.arrangement("P0", "L1", D - timedelta(days=20), D - timedelta(days=10), 300)
    book.run()
    assert outcome(book)[1] == {("CALL", "PROMISE_GRACE"), ("LETTER", "PROMISE_GRACE")}


def test_holds_rank_before_the_grace():
    book = call_stage().event("E1", "C1", "L1", at(D), "PROMISE")
    book.hold("C1", "DECEASED", D - timedelta(days=1))
    book.run()
    assert outcome(book) == (set(), {("CALL", "HOLD_DECEASED"), ("SMS", "HOLD_DECEASED")})


# -- the state behind the rules, and personal data --------------------------------------------


def test_the_outcome_state_carries_the_latest_reports_from_night_to_night():
    book = letter_stage().event("E1", "C1", "L1", at(D), "DISPUTE")
    book.event("E2", "C1", "L1", at(D, 12), "PROMISE")
    book.run()
    for _ in range(3):
        book.next_day()
        book.run()
    assert outcome(book)[1] == {("CALL", "HOLD_DISPUTE")}
    assert book.rows(
        "select snapshot_date, outcome, event_id from marts.outcome_state "
        "where snapshot_date = (select max(snapshot_date) from marts.outcome_state) order by 2"
    ) == [(D + timedelta(days=2), "DISPUTE", "E1"), (D + timedelta(days=2), "PROMISE", "E2")]


def test_no_fingerprint_and_no_contact_value_leaves_staging():
    for model in registry.models().values():
        if model.layer != "staging":
            assert not {"work.stg_customer_fingerprints", "work.contact_fingerprints"} & model.reads
    book = letter_stage().event("E1", "C1", "L1", at(D), "FAILED", channel="LETTER")
    book.event("E2", "C1", "L1", at(D), "WRONG_PARTY")
    book.run()
    book.skip_trace()
    fingerprints = {f for (f,) in book.rows("select fingerprint from work.contact_fingerprints")}
    assert len(fingerprints) == 2
    secrets = {*fingerprints, "13800138000", "Century"}
    tables = book.rows(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema = 'marts' or (table_schema = 'work' and table_name not in "
        "('customers', 'contact_fingerprints', 'stg_customer_fingerprints'))"
    )
    for schema, table in tables:
        text = str(book.rows(f"select * from {schema}.{table}"))
        assert not any(secret in text for secret in secrets), f"{schema}.{table}"
