"""The bureau in deciding (docs/strategy.md "Bureau"): each customer's latest report on or
before D, the risk score's bureau component (weight 0 by default: no change) and a stage's
bureau_score_max. The worked example of the docs, computed by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import yaml
from strategy_support import DEFAULT_STRATEGY, Book, D, strategy

from arrears import warehouse


def reports(book: Book, *rows: tuple[str, date, int, int]) -> Book:
    book.con.execute(warehouse.raw_table_ddl("bureau").replace("raw.", "work.", 1))
    for customer_id, report_date, score, overdue_accounts in rows:
        book.con.execute(
            "insert into work.bureau values ($d, $c, $r, $s, $o, 0, 1000, 0)",
            {"d": D, "c": customer_id, "r": report_date, "s": score, "o": overdue_accounts},
        )
    return book


def never_paid_book() -> Book:
    book = Book.new().customer("C1").loan("L1", "C1", 0, outstanding="0.00")
    return reports(
        book,
        ("C1", date(2025, 3, 1), 800, 0),  # older: replaced by the next
        ("C1", date(2025, 6, 1), 560, 2),  # the latest on or before D
        ("C1", date(2025, 7, 1), 900, 0),  # after D: not yet
    )


def weights(tmp_path, **changes):
    document = yaml.safe_load(DEFAULT_STRATEGY.read_text(encoding="utf-8"))
    return strategy(tmp_path=tmp_path, risk={**document["risk"], **changes})


def test_the_default_weight_leaves_the_score_as_it_was():
    book = never_paid_book()
    book.run()
    assert book.rows("select risk_score from work.int_loans__decide_risk") == [
        (Decimal("15.0000"),)
    ]
    assert book.rows("select * from work.int_customers__bureau") == [
        ("C1", date(2025, 6, 1), 560, 2)
    ]


def test_the_bureau_component_worked_example(tmp_path):
    document = yaml.safe_load(DEFAULT_STRATEGY.read_text(encoding="utf-8"))
    plan = weights(tmp_path, weights={**document["risk"]["weights"], "bureau": 10})
    book = never_paid_book()
    book.run(plan)
    # 15 (never paid) + 10 * ((1000 - 560) / 1000 / 2 + min(2, 3) / 3 / 2)
    #                = 15 + 10 * (0.22 + 0.3333...) = 20.5333
    assert book.rows("select risk_score from work.int_loans__decide_risk") == [
        (Decimal("20.5333"),)
    ]


def test_a_customer_without_a_report_adds_nothing(tmp_path):
    document = yaml.safe_load(DEFAULT_STRATEGY.read_text(encoding="utf-8"))
    plan = weights(tmp_path, weights={**document["risk"]["weights"], "bureau": 10})
    book = reports(Book.new().customer("C1").loan("L1", "C1", 0, outstanding="0.00"))
    book.run(plan)
    assert book.rows("select risk_score from work.int_loans__decide_risk") == [
        (Decimal("15.0000"),)
    ]


def test_bureau_score_max_at_its_edge(tmp_path):
    document = yaml.safe_load(DEFAULT_STRATEGY.read_text(encoding="utf-8"))
    stages = document["stages"]
    stages["REMINDER"]["bureau_score_max"] = 600
    plan = strategy(tmp_path=tmp_path, stages=stages)
    book = Book.new()
    for customer in ("C1", "C2", "C3", "C4"):
        book.customer(customer).loan(f"L{customer}", customer, 5, overdue=100)
    reports(
        book,
        ("C1", date(2025, 6, 1), 600, 0),
        ("C2", date(2025, 6, 1), 601, 0),
        ("C4", date(2025, 6, 1), 200, 0),
    )
    book.run(plan)
    # 600 matches, 601 does not, no report does not
    assert book.rows("select customer_id from work.collection_actions order by 1") == [
        ("C1",),
        ("C4",),
    ]
