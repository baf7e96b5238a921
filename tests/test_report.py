"""Run summary, KPIs and the HTML report on the hand-made marts of test_report_data."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from test_report_data import D0, D1, NEXT, PERSONAL, D, action, build, insert, store_kpis

from arrears import warehouse
from arrears.errors import ConfigError
from arrears.report import kpis, render_report, report_for_date, run_summary, write_report
from arrears.report.queries import bucket_key


@pytest.fixture
def con():
    con = warehouse.connect(":memory:")
    build(con)
    store_kpis(con)
    yield con
    con.close()


def money(text: str) -> Decimal:
    return Decimal(text)


def test_bucket_summary_at_d_with_change_against_previous_snapshot(con) -> None:
    summary = run_summary(con, D)

    assert summary.previous_snapshot_date == D1
    assert summary.action_date == NEXT
    assert summary.buckets == [
        dict(
            bucket="M0",
            loans=9,
            loans_change=1,
            outstanding_principal=money("9000.50"),
            outstanding_principal_change=money("1000.50"),
            overdue_amount=money("0.00"),
            overdue_amount_change=money("0.00"),
        ),
        dict(
            bucket="M1",
            loans=1,
            loans_change=-2,
            outstanding_principal=money("1200.00"),
            outstanding_principal_change=money("-1800.00"),
            overdue_amount=money("60.00"),
            overdue_amount_change=money("-90.00"),
        ),
        dict(
            bucket="M2",
            loans=2,
            loans_change=1,
            outstanding_principal=money("2500.00"),
            outstanding_principal_change=money("1000.00"),
            overdue_amount=money("700.25"),
            overdue_amount_change=money("400.25"),
        ),
        dict(
            bucket="M3",
            loans=0,
            loans_change=-1,
            outstanding_principal=money("0.00"),
            outstanding_principal_change=money("-1000.00"),
            overdue_amount=money("0.00"),
            overdue_amount_change=money("-400.00"),
        ),
        dict(
            bucket="TOTAL",
            loans=12,
            loans_change=-1,
            outstanding_principal=money("12700.50"),
            outstanding_principal_change=money("-799.50"),
            overdue_amount=money("760.25"),
            overdue_amount_change=money("-89.75"),
        ),
    ]


def test_first_snapshot_has_no_change() -> None:
    con = warehouse.connect(":memory:")
    insert(
        con,
        "marts.kpi_daily",
        snapshot_date=D0,
        bucket="M0",
        loans=4,
        outstanding_principal=Decimal("10.00"),
        overdue_amount=Decimal("0.00"),
        new_loans=4,
        cured_loans=0,
        rolled_forward_loans=0,
    )

    summary = run_summary(con, D0)

    assert summary.previous_snapshot_date is None
    assert [
        (r["bucket"], r["loans"], r["loans_change"], r["overdue_amount_change"])
        for r in summary.buckets
    ] == [("M0", 4, None, None), ("TOTAL", 4, None, None)]
    assert summary.actions == [] and summary.suppressed == [] and summary.validation == []
    assert summary.validation_passed is None
    assert "| M0 | 4 | – |" in summary.markdown(None)


def test_actions_suppressed_and_validation_of_the_run(con) -> None:
    summary = run_summary(con, D)

    assert [
        (r["channel"], r["stage"], r["actions"], r["customers"], r["overdue_amount"])
        for r in summary.actions
    ] == [
        ("SMS", "PRE_DUE", 1, 1, money("0.00")),
        ("SMS", "REMINDER", 1, 1, money("20.00")),
        ("SMS", "CALL", 1, 1, money("100.00")),
        ("CALL", "CALL", 1, 1, money("100.00")),
        ("CALL", "LETTER", 1, 1, money("500.00")),
        ("LETTER", "LETTER", 1, 1, money("500.00")),
    ]
    assert summary.suppressed == [
        dict(reason="CADENCE", channel="CALL", actions=2, customers=2),
        dict(reason="CONSENT", channel="SMS", actions=1, customers=1),
    ]
    # Only the latest validation run of D (run-2); its quarantine, not run-1's.
    assert summary.validation == [
        dict(
            suite="actions.critical",
            dataset="actions",
            success=True,
            evaluated=5,
            failed=0,
            unexpected_rows=0,
            quarantined_rows=0,
        ),
        dict(
            suite="loans.critical",
            dataset="loans",
            success=True,
            evaluated=10,
            failed=0,
            unexpected_rows=0,
            quarantined_rows=1,
        ),
        dict(
            suite="loans.warning",
            dataset="loans",
            success=False,
            evaluated=4,
            failed=1,
            unexpected_rows=3,
            quarantined_rows=1,
        ),
    ]
    assert summary.run == {"run_id": "run-2", "status": "SUCCEEDED"}
    assert summary.validation_passed is True
    assert summary.failed_warning_suites == 1
    assert (summary.total_actions, summary.total_suppressed) == (6, 3)


def test_markdown_and_artifact_tables(con) -> None:
    summary = run_summary(con, D)
    manifest = "/srv/outbox/2025-07-01/_manifest.json"

    text = summary.markdown(manifest)

    # A path, not a file:// link the Prefect UI cannot open; a link where the outbox is served.
    assert f"Outbox manifest: `{manifest}`" in text and "file://" not in text
    served = summary.markdown(manifest, "https://outbox.example/2025-07-01/_manifest.json")
    assert f"[{manifest}](https://outbox.example/2025-07-01/_manifest.json)" in served
    assert "| TOTAL | 12 | -1 | 12,700.50 | -799.50 | 760.25 | -89.75 |" in text
    assert "| CALL | LETTER | 1 | 1 | 500.00 |" in text
    assert "| CADENCE | CALL | 2 | 2 |" in text
    assert "| loans.warning | FAIL | 4 | 1 | 3 | 1 |" in text
    assert "Validation: **passed (1 warning suite(s) failed)**" in text
    assert "Run `run-2`: **SUCCEEDED**" in text
    assert "not published" in summary.markdown(None)

    tables = json.loads(json.dumps(summary.artifact_tables()))
    assert tables["buckets"][-1]["outstanding_principal"] == "12700.50"
    assert tables["actions"][0] == {
        "channel": "SMS",
        "stage": "PRE_DUE",
        "actions": 1,
        "customers": 1,
        "overdue_amount": "0.00",
    }


def test_kpis_all_and_per_variant(con) -> None:
    found = kpis(con, D)

    common = dict(snapshot_date=D, previous_snapshot_date=D1)
    assert found == [
        dict(
            common,
            strategy_variant="all",
            # delinquent at D1: LOAN-01, 02, 03, 05, 06, 08; M0 and aged at D: LOAN-01, 03
            delinquent_loans=6,
            cured_loans=2,
            cure_rate=money("0.333333"),
            # 150.00 + 0 + 80.50 + 100.00 + 1,000.00 + 0 (floored) + 0 (gone)
            collected_amount=money("1330.50"),
            kept_arrangements=1,
            broken_arrangements=2,
            promise_kept_rate=money("0.333333"),
            # calls of D: A1 (PROMISE by customer+date), A2 (WRONG_PARTY), A4 (CONNECTED at
            # 01:30 local), A5 (event on the next local day), A6 (only an SMS event)
            call_actions=5,
            contacted_calls=3,
            right_party_calls=2,
            promise_calls=1,
            contact_rate=money("0.600000"),
            right_party_contact_rate=money("0.400000"),
            ptp_rate=money("0.500000"),
            next_actions=6,
            next_customers=4,
        ),
        dict(
            common,
            strategy_variant="champion",
            delinquent_loans=3,
            cured_loans=1,
            cure_rate=money("0.333333"),
            collected_amount=money("1150.00"),
            kept_arrangements=1,
            broken_arrangements=0,
            promise_kept_rate=money("1.000000"),
            call_actions=3,
            contacted_calls=2,
            right_party_calls=2,
            promise_calls=1,
            contact_rate=money("0.666667"),
            right_party_contact_rate=money("0.666667"),
            ptp_rate=money("0.500000"),
            next_actions=3,
            next_customers=2,
        ),
        dict(
            common,
            strategy_variant="challenger",
            delinquent_loans=2,
            cured_loans=1,
            cure_rate=money("0.500000"),
            collected_amount=money("80.50"),
            kept_arrangements=0,
            broken_arrangements=1,
            promise_kept_rate=money("0.000000"),
            call_actions=2,
            contacted_calls=1,
            right_party_calls=0,
            promise_calls=0,
            contact_rate=money("0.500000"),
            right_party_contact_rate=money("0.000000"),
            ptp_rate=None,
            next_actions=3,
            next_customers=2,
        ),
    ]


def test_kpis_without_history_have_null_rates() -> None:
    con = warehouse.connect(":memory:")
    store_kpis(con)

    found = kpis(con, D)

    assert len(found) == 1
    row = found[0]
    assert row["strategy_variant"] == "all" and row["previous_snapshot_date"] is None
    assert row["delinquent_loans"] == 0 and row["collected_amount"] == Decimal("0.00")
    assert row["cure_rate"] is None and row["contact_rate"] is None and row["ptp_rate"] is None


def test_bucket_labels_sort_naturally() -> None:
    assert sorted(["M10", "M2", "M0", "M1"], key=bucket_key) == ["M0", "M1", "M2", "M10"]


def test_report_sections_and_charts(con, tmp_path: Path) -> None:
    path = write_report(con, D, tmp_path / "reports")

    assert path == tmp_path / "reports" / "2025-06-30" / "report.html"
    html = path.read_text(encoding="utf-8")
    for section in ("buckets", "roll-rates", "funnel", "channels", "variants", "operations"):
        assert f'<section id="{section}">' in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html
    assert html.count("<svg") == 6  # buckets x2, heat map, funnel, channels, variants

    # Stacked bars: M0 loans at D, and the M3 slice of D1.
    assert re.search(r'data-series="M0" data-value="9"><title>2025-06-30 · M0: 9<', html)
    assert re.search(r'data-series="M3" data-value="1"><title>2025-06-29 · M3: 1<', html)
    # Heat map cells carry their share and count.
    assert (
        'data-from="M1" data-to="M0" data-value="0.666667"><title>M1 → M0: 66.7% (2 loans)' in html
    )
    assert 'data-from="M3" data-to="CLOSED" data-value="1.000000">' in html
    # Funnel: customers per stage for D + 1, early to late.
    stages = re.findall(
        r'<rect class="bar"[^>]*data-series="([A-Z_]+)" data-value="(\d+)">'
        r"<title>[A-Z_]+: (?:1 customer|[\d,]+ customers)<",
        html,
    )
    assert stages == [("PRE_DUE", "1"), ("REMINDER", "1"), ("CALL", "1"), ("LETTER", "1")]
    # Channel volumes per action date: 5 calls on D, 3 SMS on D + 1.
    assert "2025-06-30 · CALL: 5<" in html and "2025-07-01 · SMS: 3<" in html
    # Variant comparison panels.
    assert "Collected amount · champion: 1,150.00<" in html
    assert "Collected amount · challenger: 80.50<" in html
    assert "Cure rate · challenger: 50.0%<" in html
    assert f"Actions for {NEXT} · champion: 3<" in html
    # Numbers formatted: thousands separators and 2-decimal money.
    assert "<td>12,700.50</td>" in html and "<td>-799.50</td>" in html


def test_contact_data_reported_bad_is_counted(con) -> None:
    summary = run_summary(con, D)
    assert [(r["item"], r["customers"], r["actions"]) for r in summary.contact_data] == [
        ("BAD_PHONE", 0, 0),
        ("BAD_ADDRESS", 0, 0),
        ("SKIP_TRACE", 0, None),
    ]
    for action_id, customer_id, channel, reason in (
        ("S7", "CUST-14", "CALL", "BAD_PHONE"),
        ("S8", "CUST-14", "SMS", "BAD_PHONE"),
        ("S9", "CUST-15", "LETTER", "BAD_ADDRESS"),
    ):
        action(
            con,
            "marts.suppressed_actions",
            action_id,
            NEXT,
            customer_id,
            channel,
            "LETTER",
            "champion",
            reason=reason,
        )
    for customer_id, since in (("CUST-15", D), ("CUST-16", D1)):
        insert(
            con,
            "marts.skip_trace",
            snapshot_date=D,
            customer_id=customer_id,
            since_date=since,
            event_id=f"EV-{customer_id}",
            channel="LETTER",
            outcome="FAILED",
            occurred_at=datetime(2025, 6, 29, 10, tzinfo=UTC),
            blocked_channels=["LETTER", "VISIT"],
        )

    summary = run_summary(con, D)

    assert summary.contact_data == [
        {"item": "BAD_PHONE", "customers": 1, "actions": 2, "new_customers": None},
        {"item": "BAD_ADDRESS", "customers": 1, "actions": 1, "new_customers": None},
        {"item": "SKIP_TRACE", "customers": 2, "actions": None, "new_customers": 1},
    ]
    assert "| SKIP_TRACE | 2 | – | 1 |" in summary.markdown(None)
    # Prefect artifact keys take lowercase letters, digits and dashes only
    tables = summary.artifact_tables()
    assert tables["contact-data"][2]["new_customers"] == 1
    assert all(re.fullmatch(r"[a-z0-9-]+", key) for key in tables)
    html = render_report(con, D)
    assert '<section id="contact-data">' in html
    assert "<td>skip trace (marts.skip_trace)</td><td>2</td>" in html.replace(' class="text"', "")
    assert "CUST-1" not in html


def test_report_has_no_personal_data_nor_ids(con) -> None:
    html = render_report(con, D)
    text = html + run_summary(con, D).markdown("/outbox/_manifest.json")

    for value in PERSONAL:
        assert value not in text
    assert "CUST-" not in text and "LOAN-" not in text


def test_report_is_deterministic(con, tmp_path: Path) -> None:
    first = write_report(con, D, tmp_path).read_bytes()
    second = write_report(con, D, tmp_path).read_bytes()

    assert first == second
    assert b"2025-07-01T" not in first  # no generation timestamp


def test_report_for_date_reads_a_warehouse_file(tmp_path: Path) -> None:
    path = tmp_path / "arrears.duckdb"
    with warehouse.opened(path) as con:
        build(con)

    written = report_for_date(path, D, tmp_path / "reports")

    assert written.is_file() and "Collections report · 2025-06-30" in written.read_text("utf-8")
    with pytest.raises(ConfigError, match="snapshot 2025-07-05 is not in"):
        report_for_date(path, date(2025, 7, 5), tmp_path / "reports")
    with pytest.raises(ConfigError, match="no warehouse at"):
        report_for_date(tmp_path / "missing.duckdb", D, tmp_path / "reports")


def test_the_report_shows_the_actions_withdrawn_during_the_day(con) -> None:
    for action_id, channel, reason, amount in (
        ("A1", "CALL", "PAID", "120.00"),
        ("A9", "CALL", "PAID", "80.50"),
        ("A3", "SMS", "PAID_INSTALLMENT", "300.00"),
    ):
        insert(
            con,
            "marts.cancelled_actions",
            action_id=action_id,
            action_date=D,
            snapshot_date=D1,
            customer_id=f"CUST-{action_id}",
            channel=channel,
            stage="CALL" if channel == "CALL" else "PRE_DUE",
            reason=reason,
            covered_at=datetime(2025, 6, 30, 3, tzinfo=UTC),
            covered_amount=Decimal(amount),
            payment_ids=[f"P-{action_id}"],
        )

    summary = run_summary(con, D)

    assert summary.cancelled == [
        {
            "channel": "SMS",
            "reason": "PAID_INSTALLMENT",
            "actions": 1,
            "customers": 1,
            "covered_amount": Decimal("300.00"),
        },
        {
            "channel": "CALL",
            "reason": "PAID",
            "actions": 2,
            "customers": 2,
            "covered_amount": Decimal("200.50"),
        },
    ]
    assert summary.artifact_tables()["cancelled"][1]["covered_amount"] == "200.50"
    html = render_report(con, D)
    assert '<section id="cancelled">' in html
    assert "CUST-A" not in html and "P-A1" not in html


def test_failed_suites_name_their_rules_with_counts(con) -> None:
    summary = run_summary(con, D)
    # The latest validation run only (run-1's failed rule is not there).
    assert summary.failed_rules == [
        {"suite": "loans.warning", "rule": "outstanding > principal", "unexpected_rows": 3}
    ]
    html = render_report(con, D)
    assert "<div>outstanding &gt; principal: 3 rows</div>" in html
    assert "loan_id unique" not in html and "LOAN-X7" not in html
    markdown = summary.markdown(None)
    assert "- loans.warning: outstanding > principal (3 rows)" in markdown
    assert "LOAN-X7" not in markdown


def test_report_header_names_the_run_its_duration_versions_and_links(con) -> None:
    html = render_report(con, D, Path("/srv/outbox"), home=Path(f"/srv/reports/{D}"))
    assert "Run <code>run-2</code> · SUCCEEDED · started 2025-07-01 02:00:00 UTC" in html
    assert "took 1 min 23 s" in html
    versions = sorted(
        {
            r[0]
            for r in con.execute("select strategy_version from marts.collection_actions").fetchall()
        }
    )
    assert f"strategy version {', '.join(versions)}" in html
    assert f'<a href="../{D1}/report.html">previous report ({D1})</a>' in html
    # From the report's folder: it opens from disk and under one server of /srv.
    assert f'href="../../outbox/{NEXT}/_manifest.json">outbox manifest' in html
    assert "file://" not in html
    served = render_report(
        con,
        D,
        Path("/srv/outbox"),
        home=Path(f"/srv/reports/{D}"),
        manifest_url=f"https://outbox.example/{NEXT}/_manifest.json",
    )
    assert f'href="https://outbox.example/{NEXT}/_manifest.json">outbox manifest' in served


def test_counts_agree_with_their_nouns(con) -> None:
    html = render_report(con, D)
    assert not re.search(r"[^\d,]1 (loans|customers|rows)\b", html)
    assert "(1 loan)" in html  # the M3 -> CLOSED cell of the roll-rate matrix


def test_one_variant_gets_its_table_and_no_comparison_charts(con) -> None:
    con.execute("delete from marts.kpi_variants where strategy_variant = 'challenger'")
    html = render_report(con, D)
    variants = html.split('<section id="variants">')[1].split("</section>")[0]
    assert "<svg" not in variants
    assert "Only the champion strategy decided this date" in variants
    assert '<td class="text">champion</td>' in variants


def test_first_snapshot_claims_no_collected_amount(con) -> None:
    con.execute("delete from marts.kpi_daily where snapshot_date < $d", {"d": D})
    html = render_report(con, D)
    card = html.split('<div class="label">Collected</div>')[1].split("</div></div>")[0]
    assert '<div class="value">–</div>' in card
    assert "first snapshot: nothing to compare with" in card
    assert "since the previous snapshot" not in html
