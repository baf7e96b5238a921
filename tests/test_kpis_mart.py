"""marts.kpi_variants: the KPIs a run stores before its commit equal those recomputed from the
committed warehouse after it (tests/sql/kpis_from_history.sql, the oracle).

The committed state is the hand-made warehouse of test_report_data. The pending state holds the
same rows of D (and of action date D + 1) in work.*, while raw.*/marts.* still carry a different,
older version of D, as on a rerun: the stored KPIs must come from work.* for D, never from there.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from polars.testing import assert_frame_equal
from test_report_data import NEXT, D, build, event, kpis_from_history, utc

from arrears import commit, warehouse
from arrears.report.kpis import MART, build_kpi_variants, kpis

ORDER = ["snapshot_date", "strategy_variant"]


def committed() -> object:
    con = warehouse.connect(":memory:")
    build(con)
    # Landed with a later snapshot (a rerun of D after D + 1 was committed), answering a call
    # of D: it counts, and the pending state must keep it too.
    event(
        con, "E7", "CUST-09", "CONNECTED", utc(2025, 6, 30, 6), action_id="A5", snapshot_date=NEXT
    )
    return con


def pending() -> object:
    """The run's results of D in work.*, and a stale version of D in raw.*/marts.*."""
    con = committed()
    for table, column, which in commit.PARTITIONS:
        if table == MART:
            continue
        day = D if which == "snapshot" else NEXT
        name = table.split(".", 1)[1]
        con.execute(
            f"create or replace table work.{name} as select * from {table} where {column} = $d",
            {"d": day},
        )
    # The previous run of D saw other payments, outcomes, arrangements and actions.
    con.execute(
        "update marts.loan_aging set dpd = dpd + 30, paid_to_date_amount = 0 "
        "where snapshot_date = $d",
        {"d": D},
    )
    con.execute(
        "update raw.contact_events set outcome = 'NO_ANSWER' where snapshot_date = $d", {"d": D}
    )
    con.execute(
        "update marts.arrangement_status set status = 'ACTIVE' where snapshot_date = $d", {"d": D}
    )
    con.execute(
        "update marts.collection_actions set strategy_variant = 'challenger' "
        "where action_date = $d",
        {"d": NEXT},
    )
    con.execute(
        "insert into marts.collection_actions select * replace ('STALE' as action_id) "
        "from marts.collection_actions where action_date = $d limit 1",
        {"d": NEXT},
    )
    return con


def stored(con) -> pl.DataFrame:
    return con.sql(f"select * from {MART} order by all").pl()


def test_the_pending_state_differs_from_the_committed_one_as_read_from_marts() -> None:
    # Guards the test below: reading marts as they are would give other KPIs.
    assert kpis_from_history(pending(), D) != kpis_from_history(committed(), D)


def test_kpis_stored_before_the_commit_equal_the_reports_after_it() -> None:
    expected = kpis_from_history(committed(), D)
    assert [r["strategy_variant"] for r in expected] == ["all", "champion", "challenger"]
    con = pending()

    assert build_kpi_variants(con, D) == 3
    commit.commit(con, D)

    # the commit left the state the KPIs were computed for
    assert kpis_from_history(con, D) == expected
    assert kpis(con, D) == expected
    found = con.execute(f"select * from {MART} where snapshot_date = $d", {"d": D})
    columns = [c[0] for c in found.description]
    rows = [dict(zip(columns, row, strict=True)) for row in found.fetchall()]
    assert sorted(rows, key=lambda r: r["strategy_variant"]) == sorted(
        expected, key=lambda r: r["strategy_variant"]
    )
    all_row = next(r for r in rows if r["strategy_variant"] == "all")
    assert all_row["collected_amount"] == Decimal("1330.50")
    assert all_row["cure_rate"] == Decimal("0.333333")


def column_types(con, table: str) -> dict[str, str]:
    return dict(con.execute(f"select column_name, column_type from (describe {table})").fetchall())


def test_the_mart_has_exact_decimal_types_and_the_model_produces_them() -> None:
    con = pending()
    build_kpi_variants(con, D)

    types = column_types(con, MART)
    assert types["collected_amount"] == "DECIMAL(18,2)"
    rates = (
        "cure_rate",
        "promise_kept_rate",
        "contact_rate",
        "right_party_contact_rate",
        "ptp_rate",
    )
    assert {types[rate] for rate in rates} == {"DECIMAL(9,6)"}
    # Same columns, same types: the commit stores the model's values without a cast.
    assert column_types(con, "work.kpi_variants") == types


def test_a_rerun_of_the_date_gives_identical_rows() -> None:
    con = pending()
    build_kpi_variants(con, D)
    commit.commit(con, D)
    first = stored(con)

    # The rerun sees its own earlier version of D in marts; work.* holds the same results again.
    build_kpi_variants(con, D)
    commit.commit(con, D)

    assert_frame_equal(stored(con), first)
    assert first.height == 3


def test_history_before_d_is_kept_and_later_dates_are_untouched() -> None:
    con = pending()
    con.execute(
        f"insert into {MART} by name select $p as snapshot_date, 'all' as strategy_variant, "
        "0 as delinquent_loans, 0 as cured_loans, 0 as collected_amount, "
        "0 as kept_arrangements, 0 as broken_arrangements, 0 as call_actions, "
        "0 as contacted_calls, 0 as right_party_calls, 0 as promise_calls, "
        "0 as next_actions, 0 as next_customers",
        {"p": NEXT},
    )
    build_kpi_variants(con, D)
    commit.commit(con, D)

    dates = con.execute(
        f"select snapshot_date, count(*) from {MART} group by all order by 1"
    ).fetchall()
    assert dates == [(D, 3), (NEXT, 1)]
