"""The landed-data suites: each rule quarantines exactly the planted rows; limits; cascade."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from arrears import warehouse
from arrears.contract import DATASETS
from arrears.errors import InputRejected
from arrears.quality import QualityConfig, validate_landed
from arrears.settings import Settings

D = date(2025, 6, 30)
P = date(2025, 6, 29)


def loan(loan_id: str, **kw: Any) -> dict[str, Any]:
    return {
        "loan_id": loan_id,
        "customer_id": "C1",
        "product": "consumer_loan",
        "branch": "B01",
        "currency": "CNY",
        "origination_date": date(2025, 1, 1),
        "maturity_date": date(2026, 1, 1),
        "principal_amount": Decimal("1000.00"),
        "outstanding_principal": Decimal("500.00"),
        "status": "ACTIVE",
        "source_dpd": 0,
        **kw,
    }


def installment(loan_id: str, no: int, **kw: Any) -> dict[str, Any]:
    zero = Decimal("0.00")
    return {
        "loan_id": loan_id,
        "installment_no": no,
        "due_date": date(2025, 7, 15),
        "principal_due": Decimal("100.00"),
        "interest_due": Decimal("10.00"),
        "fee_due": zero,
        "penalty_due": zero,
        "principal_paid": zero,
        "interest_paid": zero,
        "fee_paid": zero,
        "penalty_paid": zero,
        "last_payment_date": None,
        **kw,
    }


def customer(customer_id: str, **kw: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "full_name": "Wang Fang",
        "national_id": "110101199001011234",
        "phone": "13812345678",
        "email": None,
        "address": "1 Road",
        "city": "Beijing",
        "province": "BJ",
        "postal_code": "100000",
        "timezone": "Asia/Shanghai",
        "language": "zh",
        "consent_sms": True,
        "consent_call": True,
        "consent_email": True,
        **kw,
    }


def put(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    rows: list[dict[str, Any]],
    snapshot_date: date = D,
    schema: str = "work",
) -> None:
    if schema == "work":
        con.execute(warehouse.work_table_ddl(dataset))
    columns = ["snapshot_date", *DATASETS[dataset].column_names]
    for row in rows:
        values = [snapshot_date, *(row.get(c) for c in columns[1:])]
        placeholders = ", ".join("?" for _ in columns)
        con.execute(
            f"insert into {schema}.{dataset} ({', '.join(columns)}) values ({placeholders})",
            values,
        )


def healthy_book(con: duckdb.DuckDBPyConnection, loans: int = 3) -> None:
    """Customers C1..Cn, one loan each (Ln), two installments each; no arrangements etc."""
    put(con, "customers", [customer(f"C{i}") for i in range(1, loans + 1)])
    put(con, "loans", [loan(f"L{i}", customer_id=f"C{i}") for i in range(1, loans + 1)])
    put(
        con,
        "installments",
        [installment(f"L{i}", n) for i in range(1, loans + 1) for n in (1, 2)],
    )
    for dataset in ("arrangements", "contact_events", "holds", "bureau"):
        con.execute(warehouse.work_table_ddl(dataset))


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    connection = warehouse.connect(":memory:")
    yield connection
    connection.close()


@pytest.fixture()
def lenient() -> Settings:
    return Settings(quarantine_limit=1.0)


def quarantined(con: duckdb.DuckDBPyConnection, dataset: str) -> set[tuple[str, str]]:
    return set(
        con.execute(
            "select record_key, rule from quality.quarantine where dataset = $d", {"d": dataset}
        ).fetchall()
    )


def keys(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    key = DATASETS[dataset].key
    return [
        "|".join("" if v is None else str(v) for v in row)
        for row in con.execute(
            f"select {', '.join(key)} from work.{dataset} order by all"
        ).fetchall()
    ]


def test_clean_book_passes_and_is_recorded(con: duckdb.DuckDBPyConnection) -> None:
    healthy_book(con)
    report = validate_landed(con, D, "run-1", Settings())
    assert report.success
    assert report.quarantined == {}
    assert [s.suite for s in report.suites if s.dataset == "loans"][:2] == [
        "loans.critical",
        "loans.warning",
    ]
    recorded = con.execute(
        "select suite, success, failed from quality.runs where run_id = 'run-1' order by suite"
    ).fetchall()
    assert {r[0] for r in recorded} >= {
        f"{d}.{s}" for d in DATASETS for s in ("critical", "warning")
    } | {"cross_day.critical", "cross_day.warning"}
    assert all(success and failed == 0 for _, success, failed in recorded)
    assert keys(con, "loans") == ["L1", "L2", "L3"]


def test_loans_rules_catch_exactly_the_planted_rows(
    con: duckdb.DuckDBPyConnection, lenient: Settings
) -> None:
    healthy_book(con, loans=1)
    put(
        con,
        "loans",
        [
            loan("L1"),
            loan("B_NULL_BRANCH", branch=None),
            loan("B_DUP"),
            loan("B_DUP"),
            loan("B_NO_CUSTOMER", customer_id="C9"),
            loan("B_ZERO_PRINCIPAL", principal_amount=Decimal("0.00")),
            loan("B_NEG_OUT", outstanding_principal=Decimal("-1.00")),
            loan("B_STATUS", status="OPEN"),
            loan("B_CCY", currency="rmb"),
            loan("B_ORIG", origination_date=date(2025, 7, 1)),
            loan("B_MAT", maturity_date=date(2024, 12, 31)),
            loan("B_DPD", source_dpd=-3),
        ],
    )
    report = validate_landed(con, D, "run-1", lenient)
    assert quarantined(con, "loans") == {
        ("B_NULL_BRANCH", "branch is missing"),
        ("B_DUP", "loan_id duplicated"),
        ("B_NO_CUSTOMER", "customer_id not in customers"),
        ("B_ZERO_PRINCIPAL", "principal_amount not positive"),
        ("B_NEG_OUT", "outstanding_principal is negative"),
        ("B_STATUS", "status not a known value"),
        ("B_CCY", "currency not an ISO 4217 code"),
        ("B_ORIG", "origination_date after snapshot date"),
        ("B_MAT", "maturity_date before origination_date"),
        ("B_DPD", "source_dpd is negative"),
    }
    assert keys(con, "loans") == ["L1"]
    critical = report.suite("loans.critical")
    assert not critical.success
    # GX's own count agrees with the rows found in DuckDB for every rule.
    assert all(o.gx_unexpected_count is None for o in critical.outcomes)
    assert report.quarantined["loans"] == 11
    assert report.suite("loans.warning").success is False  # rmb is not in the ISO list


def test_installments_rules_and_values(con: duckdb.DuckDBPyConnection, lenient: Settings) -> None:
    healthy_book(con, loans=1)
    put(
        con,
        "installments",
        [
            installment("L1", 1),
            installment("L1", 2),
            installment("L1", 2),
            installment("L1", 0),
            installment("L1", 4, interest_due=Decimal("-0.01")),
            installment("L1", 5, principal_paid=Decimal("101.01"), interest_paid=Decimal("10.00")),
            installment("L1", 6, principal_paid=Decimal("101.00"), interest_paid=Decimal("10.00")),
            installment("L1", 7, last_payment_date=date(2025, 7, 1)),
            installment("L1", 8, due_date=date(2024, 12, 31)),
            installment("L9", 1),
            installment("L1", 10, due_date=None),
        ],
    )
    validate_landed(con, D, "run-1", lenient)
    assert quarantined(con, "installments") == {
        ("L1|2", "(loan_id, installment_no) duplicated"),
        ("L1|0", "installment_no below 1"),
        ("L1|4", "interest_due is negative"),
        ("L1|5", "paid above due beyond tolerance"),
        ("L1|7", "last_payment_date after snapshot date"),
        ("L1|8", "due_date before the loan's origination_date"),
        ("L9|1", "loan_id not in loans"),
        ("L1|10", "due_date is missing"),
    }
    values = dict(
        con.execute(
            "select record_key, value from quality.quarantine where dataset = 'installments'"
        ).fetchall()
    )
    assert values["L1|5"] == "1.01"
    assert values["L1|0"] == "0"
    assert keys(con, "installments") == ["L1|1", "L1|6"]


def test_customers_phone_quarantined_without_the_number(
    con: duckdb.DuckDBPyConnection, lenient: Settings
) -> None:
    healthy_book(con, loans=2)
    put(
        con,
        "customers",
        [
            customer("C1"),
            customer("C2", phone="+14155550123"),
            customer("C3", phone="12345678901"),
            customer("C4", phone="+8612345"),
            customer("C5", full_name=None),
            customer("C6", timezone="Mars/Base"),
        ],
    )
    report = validate_landed(con, D, "run-1", lenient)
    assert quarantined(con, "customers") == {
        ("C3", "phone not E.164 or a mainland mobile number"),
        ("C5", "full_name is missing"),
    }
    assert con.execute(
        "select count(*) from quality.quarantine where dataset = 'customers' and value is not null"
    ).fetchone() == (0,)
    stored = con.execute("select * from quality.quarantine").fetchall()
    runs = con.execute("select details_json from quality.runs").fetchall()
    text = json.dumps([list(map(str, r)) for r in stored + runs])
    for personal in ("12345678901", "Wang Fang", "110101199001011234", "1 Road", "100000"):
        assert personal not in text
    assert "C4" not in {k for k, _ in quarantined(con, "customers")}  # +8612345 is valid E.164
    assert any("timezone not an IANA name" in w and "C6" in w for w in report.warnings)


def test_phones_and_ids_in_free_text_are_counted_never_shown(
    con: duckdb.DuckDBPyConnection, lenient: Settings
) -> None:
    healthy_book(con, loans=3)
    planted = ("110105199003071234", "13912345678", "13900000009", "+8613700000001")
    con.execute(f"update work.loans set branch = '{planted[0]}' where loan_id = 'L2'")
    con.execute(f"update work.loans set product = 'tel {planted[1]}' where loan_id = 'L3'")
    # A customer keyed by a phone number (customer_id and phone swapped at the source).
    put(con, "customers", [customer(f"C{i}") for i in (1, 2, 3)] + [customer(planted[2])])
    # An enumeration holding one: quarantined by its rule, the value not recorded.
    con.execute(f"update work.loans set status = '{planted[3]}' where loan_id = 'L1'")

    report = validate_landed(con, D, "run-1", lenient)

    loans = {o.rule: o for o in report.suite("loans.warning").outcomes}
    branch = loans["branch looks like a phone number or national id"]
    assert (branch.success, branch.unexpected_count, branch.examples) == (False, 1, ("L2",))
    assert loans["product looks like a phone number or national id"].examples == ("L3",)
    assert loans["loan_id looks like a phone number or national id"].success
    customers = {o.rule: o for o in report.suite("customers.warning").outcomes}
    key = customers["customer_id looks like a phone number or national id"]
    # The key is the value here: counted, no example.
    assert (key.success, key.unexpected_count, key.examples) == (False, 1, ())
    assert (
        "loans.warning: branch looks like a phone number or national id (1 rows, e.g. L2)"
        in report.warnings
    )
    assert ("L1", "status not a known value") in quarantined(con, "loans")
    stored = con.execute("select * from quality.quarantine").fetchall()
    runs = con.execute("select details_json from quality.runs").fetchall()
    text = json.dumps([list(map(str, r)) for r in stored + runs]) + "\n".join(report.warnings)
    for value in planted:
        assert value not in text, value
    assert "<personal data withheld>" in text


def test_other_datasets(con: duckdb.DuckDBPyConnection, lenient: Settings) -> None:
    healthy_book(con, loans=1)
    put(
        con,
        "arrangements",
        [
            {
                "arrangement_id": "A1",
                "loan_id": "L1",
                "kind": "PROMISE_TO_PAY",
                "created_date": D,
                "promised_date": date(2025, 7, 5),
                "promised_amount": Decimal("50.00"),
                "cancelled": False,
            },
            {
                "arrangement_id": "A2",
                "loan_id": "L9",
                "kind": "PROMISE_TO_PAY",
                "created_date": D,
                "promised_date": date(2025, 7, 5),
                "promised_amount": Decimal("50.00"),
                "cancelled": False,
            },
            {
                "arrangement_id": "A3",
                "loan_id": "L1",
                "kind": "BEG",
                "created_date": D,
                "promised_date": date(2025, 7, 5),
                "promised_amount": Decimal("50.00"),
                "cancelled": False,
            },
            {
                "arrangement_id": "A4",
                "loan_id": "L1",
                "kind": "EXTENSION",
                "created_date": D,
                "promised_date": date(2025, 6, 1),
                "promised_amount": Decimal("50.00"),
                "cancelled": False,
            },
            {
                "arrangement_id": "A5",
                "loan_id": "L1",
                "kind": "EXTENSION",
                "created_date": date(2025, 7, 2),
                "promised_date": date(2025, 7, 5),
                "promised_amount": Decimal("0.00"),
                "cancelled": False,
            },
        ],
    )
    put(
        con,
        "contact_events",
        [
            {
                "event_id": "E1",
                "customer_id": "C1",
                "channel": "SMS",
                "occurred_at": "2025-06-30 10:00:00+08",
                "outcome": "DELIVERED",
            },
            {
                "event_id": "E2",
                "customer_id": "C1",
                "channel": "FAX",
                "occurred_at": "2025-06-30 10:00:00+08",
                "outcome": "DELIVERED",
            },
            {
                "event_id": "E3",
                "customer_id": "C1",
                "channel": "CALL",
                "occurred_at": "2025-06-30 10:00:00+08",
                "outcome": "HUNG_UP",
            },
        ],
    )
    put(
        con,
        "holds",
        [
            {
                "customer_id": "C1",
                "loan_id": None,
                "kind": "DISPUTE",
                "start_date": date(2025, 6, 1),
                "end_date": None,
            },
            {
                "customer_id": "C7",
                "loan_id": None,
                "kind": "HARDSHIP",
                "start_date": date(2025, 6, 1),
                "end_date": None,
            },
        ],
    )
    report = validate_landed(con, D, "run-1", lenient)
    assert quarantined(con, "arrangements") == {
        ("A2", "loan_id not in loans"),
        ("A3", "kind not a known value"),
        ("A4", "promised_date before created_date"),
        ("A5", "promised_amount not positive"),
        ("A5", "created_date after snapshot date"),
    }
    assert quarantined(con, "contact_events") == {
        ("E2", "channel not a known value"),
        ("E3", "outcome not a known value"),
    }
    assert quarantined(con, "holds") == set()
    assert any("holds.warning: customer_id not in customers" in w for w in report.warnings)


def test_bureau_rules_catch_exactly_the_planted_rows(
    con: duckdb.DuckDBPyConnection, lenient: Settings
) -> None:
    healthy_book(con, loans=2)
    report = {
        "report_date": D,
        "bureau_score": 640,
        "external_overdue_accounts": 1,
        "external_overdue_amount": Decimal("300.00"),
        "external_total_debt": Decimal("9000.00"),
        "inquiries_90d": 2,
    }
    put(
        con,
        "bureau",
        [
            {"customer_id": "C1", **report},
            {"customer_id": "C2", **report, "report_date": date(2025, 5, 1)},  # older: kept
            {"customer_id": "C2", **report, "bureau_score": -1},  # negative score
            {"customer_id": "C2", **report, "report_date": date(2025, 4, 1), "inquiries_90d": None},
            {
                "customer_id": "C2",
                **report,
                "report_date": date(2025, 3, 1),
                "external_overdue_amount": Decimal("9000.01"),  # above the whole debt
            },
        ],
    )
    report_ = validate_landed(con, D, "run-b", lenient)
    assert quarantined(con, "bureau") == {
        (f"C2|{D}", "bureau_score is negative"),
        ("C2|2025-04-01", "inquiries_90d is missing"),
        ("C2|2025-03-01", "external_overdue_amount above external_total_debt"),
    }
    assert report_.quarantined == {"bureau": 3}
    assert keys(con, "bureau") == ["C1|" + str(D), "C2|2025-05-01"]


def test_key_duplicates_and_missing_key_parts(
    con: duckdb.DuckDBPyConnection, lenient: Settings
) -> None:
    """A missing single-column key is its not-null rule's, never a duplicate; in a compound key
    missing parts compare equal, so two customer-level holds alike are duplicates."""
    healthy_book(con, loans=1)
    put(con, "loans", [loan("L1"), loan(None), loan(None)])
    hold = {"customer_id": "C1", "loan_id": None, "kind": "DISPUTE", "end_date": None}
    put(
        con,
        "holds",
        [
            {**hold, "start_date": date(2025, 6, 1)},
            {**hold, "start_date": date(2025, 6, 1)},
            {**hold, "start_date": date(2025, 6, 2)},
        ],
    )
    validate_landed(con, D, "run-1", lenient)
    rules = con.execute(
        "select dataset, record_key, rule, count(*) from quality.quarantine "
        "where dataset in ('loans', 'holds') and rule not like '% quarantined' "
        "group by all order by all"
    ).fetchall()
    assert rules == [
        (
            "holds",
            "C1||DISPUTE|2025-06-01",
            "(customer_id, loan_id, kind, start_date) duplicated",
            2,
        ),
        ("loans", "", "loan_id is missing", 2),
    ]


def test_cascade_customer_takes_loans_and_their_schedule(
    con: duckdb.DuckDBPyConnection, lenient: Settings
) -> None:
    healthy_book(con, loans=3)
    con.execute("update work.customers set phone = 'bad' where customer_id = 'C2'")
    put(
        con,
        "arrangements",
        [
            {
                "arrangement_id": "A1",
                "loan_id": "L2",
                "kind": "PROMISE_TO_PAY",
                "created_date": D,
                "promised_date": date(2025, 7, 5),
                "promised_amount": Decimal("50.00"),
                "cancelled": False,
            }
        ],
    )
    report = validate_landed(con, D, "run-1", lenient)
    assert quarantined(con, "loans") == {("L2", "customer quarantined")}
    assert quarantined(con, "installments") == {
        ("L2|1", "loan quarantined"),
        ("L2|2", "loan quarantined"),
    }
    assert quarantined(con, "arrangements") == {("A1", "loan quarantined")}
    assert keys(con, "customers") == ["C1", "C3"]
    assert keys(con, "installments") == ["L1|1", "L1|2", "L3|1", "L3|2"]
    assert report.quarantined == {"customers": 1, "loans": 1, "installments": 2, "arrangements": 1}


def test_bad_hold_takes_its_customer(con: duckdb.DuckDBPyConnection, lenient: Settings) -> None:
    healthy_book(con, loans=2)
    put(
        con,
        "holds",
        [
            {
                "customer_id": "C1",
                "loan_id": None,
                "kind": "DECEASED",
                "start_date": date(2025, 6, 1),
                "end_date": date(2025, 5, 1),
            }
        ],
    )
    validate_landed(con, D, "run-1", lenient)
    assert quarantined(con, "customers") == {("C1", "hold quarantined")}
    assert keys(con, "loans") == ["L2"]


def test_over_the_limit_rejects_and_keeps_work(con: duckdb.DuckDBPyConnection) -> None:
    healthy_book(con, loans=4)
    con.execute("update work.loans set status = 'OPEN' where loan_id = 'L3'")
    with pytest.raises(InputRejected) as caught:
        validate_landed(con, D, "run-1", Settings(quarantine_limit=0.2))
    error = caught.value
    assert error.exit_code == 3
    assert error.file == "loans"
    assert "status not a known value" in error.rule
    assert error.count == 1
    assert error.examples == ["L3"]
    # Recorded, but nothing removed: the run stops here.
    assert quarantined(con, "loans") == {("L3", "status not a known value")}
    assert keys(con, "loans") == ["L1", "L2", "L3", "L4"]
    assert con.execute("select count(*) from quality.runs").fetchone()[0] > 0


def test_rejection_names_the_landing_file_when_ingest_said_which(con):
    healthy_book(con, loans=4)
    con.execute("update work.loans set status = 'OPEN' where loan_id = 'L3'")
    sources = {"loans": "/landing/2025-06-30/loans.csv"}
    with pytest.raises(InputRejected) as caught:
        validate_landed(con, D, "run-1", Settings(quarantine_limit=0.2), sources=sources)
    assert caught.value.file == "/landing/2025-06-30/loans.csv"
    assert str(caught.value).startswith("/landing/2025-06-30/loans.csv: loans.critical: ")


def test_within_the_limit_continues(con: duckdb.DuckDBPyConnection) -> None:
    healthy_book(con, loans=4)
    con.execute("update work.loans set status = 'OPEN' where loan_id = 'L3'")
    report = validate_landed(con, D, "run-1", Settings(quarantine_limit=0.25))
    assert report.quarantined["loans"] == 1
    assert keys(con, "loans") == ["L1", "L2", "L4"]


def test_dataset_level_failure_rejects(con: duckdb.DuckDBPyConnection, lenient: Settings) -> None:
    healthy_book(con, loans=1)
    put(
        con,
        "holds",
        [
            {
                "customer_id": None,
                "loan_id": None,
                "kind": "DECEASED",
                "start_date": date(2025, 6, 1),
                "end_date": None,
            }
        ],
    )
    with pytest.raises(InputRejected, match="holds.critical: customer_id is missing"):
        validate_landed(con, D, "run-1", lenient)


def previous_snapshot(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    put(con, "loans", rows, snapshot_date=P, schema="raw")


def test_cross_day_warnings(con: duckdb.DuckDBPyConnection) -> None:
    healthy_book(con, loans=3)
    con.execute(
        "update work.loans set outstanding_principal = 600, source_dpd = 5 where loan_id = 'L1'"
    )
    previous_snapshot(
        con,
        [
            loan("L1", customer_id="C1", source_dpd=3),
            loan("L2", customer_id="C2"),
            loan("L3", customer_id="C3"),
            loan("L4", status="CLOSED"),
            loan("L5"),
        ],
    )
    config = QualityConfig(loan_count_warning_share=0.3, vanished_critical_share=0.5)
    report = validate_landed(con, D, "run-1", Settings(), config)
    warning = {o.rule: o for o in report.suite("cross_day.warning").outcomes}
    assert warning["loans vanished without being CLOSED"].examples == ("L5",)
    assert warning["outstanding principal of an installment loan grew"].examples == ("L1",)
    assert warning["source_dpd grew more than the days elapsed"].examples == ("L1",)
    assert warning["loan count moved beyond the warning share"].unexpected_count == 2
    # source_dpd 5 against a schedule with nothing overdue: 1 of 3 loans disagrees.
    assert not warning["source_dpd disagrees with the schedule beyond the share"].success
    assert report.success


def test_cross_day_critical_rejects(con: duckdb.DuckDBPyConnection) -> None:
    healthy_book(con, loans=1)
    previous_snapshot(con, [loan(f"L{i}") for i in range(1, 5)])
    with pytest.raises(InputRejected, match="loan count moved beyond the critical share") as c:
        validate_landed(con, D, "run-1", Settings())
    assert c.value.count == 3


def test_data_docs_only_on_request_and_without_personal_data(
    con: duckdb.DuckDBPyConnection,
    tmp_path: Path,
    lenient: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    healthy_book(con, loans=2)
    con.execute("update work.customers set phone = '99912345' where customer_id = 'C2'")
    validate_landed(con, D, "run-1", lenient)
    assert list(tmp_path.iterdir()) == []
    docs = tmp_path / "docs"
    validate_landed(con, D, "run-2", Settings(quarantine_limit=1.0, data_docs=docs))
    pages = list(docs.rglob("*.html"))
    assert (docs / "index.html") in pages
    assert len(pages) > 1
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "99912345" not in text
        assert "Wang Fang" not in text
