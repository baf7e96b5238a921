"""The synthetic landing folder: contract, determinism, day-to-day consistency, a realistic book."""

from __future__ import annotations

import functools
import re
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from arrears.contract import DATASETS
from arrears.errors import ConfigError
from arrears.generate import GenerateSummary, generate_landing
from arrears.generate.book import id_check_digits
from arrears.generate.rand import add_months, civil, from_civil, to_day

START = date(2025, 6, 1)
DAYS = 3
LOANS = 1500
DATES = [(START + timedelta(days=k)).isoformat() for k in range(DAYS)]


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    summary = generate_landing(root, START, DAYS, LOANS, seed=7)
    assert isinstance(summary, GenerateSummary)
    assert summary.dates == tuple(START + timedelta(days=k) for k in range(DAYS))
    assert summary.rows["loans"] > 0 and summary.rows["installments"] > 0
    return root


def read(landing: Path, day: str, name: str, typed: bool = True) -> duckdb.DuckDBPyRelation:
    """A landing file through DuckDB's CSV reader, typed as the contract says (or all text)."""
    path = landing / day / f"{name}.csv"
    if typed:
        types = {c.name: c.sql_type for c in DATASETS[name].columns}
        return duckdb.read_csv(str(path), header=True, columns=types)
    return duckdb.read_csv(str(path), header=True, all_varchar=True)


@functools.cache
def frame(landing: Path, day: str, name: str, typed: bool = True) -> pl.DataFrame:
    return read(landing, day, name, typed).pl()


DPD_SQL = """
with overdue as (
    select loan_id, min(due_date) as oldest
    from inst
    where due_date < $d
      and principal_due + interest_due + coalesce(fee_due, 0) + coalesce(penalty_due, 0)
        - principal_paid - interest_paid - coalesce(fee_paid, 0) - coalesce(penalty_paid, 0) > 1.00
    group by loan_id
)
select loans.loan_id, loans.status, loans.source_dpd,
       coalesce($d - overdue.oldest, 0) as dpd
from loans left join overdue on overdue.loan_id = loans.loan_id
"""


def dpd_frame(landing: Path, day: str) -> pl.DataFrame:
    con = duckdb.connect()
    con.register("loans", read(landing, day, "loans").pl())
    con.register("inst", read(landing, day, "installments").pl())
    return con.sql(DPD_SQL, params={"d": date.fromisoformat(day)}).pl()


def test_every_day_has_every_dataset_with_the_contract_header(landing: Path) -> None:
    for day in DATES:
        folder = landing / day
        assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.csv" for n in DATASETS)
        for name, dataset in DATASETS.items():
            header = (folder / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0]
            assert header.split(",") == dataset.column_names


def test_files_parse_with_contract_types_and_hold_required_values(landing: Path) -> None:
    for day in DATES:
        for name, dataset in DATASETS.items():
            df = frame(landing, day, name)
            for column in dataset.columns:
                if column.required:
                    assert df[column.name].null_count() == 0, (day, name, column.name)
                if column.enum:
                    assert set(df[column.name].drop_nulls()) <= set(column.enum), column.name
            assert df.select(dataset.key).is_duplicated().sum() == 0, (day, name)


def test_text_formats_amounts_booleans_and_timestamps(landing: Path) -> None:
    day = DATES[0]
    money = re.compile(r"^\d+\.\d{2}$")
    for name in ("loans", "installments", "arrangements"):
        df = frame(landing, day, name, typed=False)
        for column in DATASETS[name].columns:
            if column.type == "decimal":
                values = df[column.name].drop_nulls().to_list()
                assert values and all(money.match(v) for v in values), column.name
            if column.type == "date":
                assert all(
                    re.match(r"^\d{4}-\d{2}-\d{2}$", v) for v in df[column.name].drop_nulls()
                )
    customers = frame(landing, day, "customers", typed=False)
    for flag in ("consent_sms", "consent_call", "consent_email"):
        assert set(customers[flag]) == {"true", "false"}
    events = frame(landing, day, "contact_events", typed=False)
    assert events.height > 0
    stamp = re.compile(r"^\d{4}-\d{2}-\d{2}T(0[89]|1\d|20):[0-5]\d:[0-5]\d\+08:00$")
    assert all(stamp.match(v) and v.startswith(day) for v in events["occurred_at"])


def test_references_between_datasets(landing: Path) -> None:
    for day in DATES:
        loans = frame(landing, day, "loans")
        inst = frame(landing, day, "installments")
        customers = frame(landing, day, "customers")
        assert set(inst["loan_id"]) == set(loans["loan_id"])
        assert set(loans["customer_id"]) == set(customers["customer_id"])
        for name in ("arrangements", "contact_events"):
            assert set(frame(landing, day, name)["loan_id"]) <= set(loans["loan_id"])
        holds = frame(landing, day, "holds")
        assert set(holds["customer_id"]) <= set(customers["customer_id"])
        assert set(holds["loan_id"].drop_nulls()) <= set(loans["loan_id"])


def test_installment_principal_adds_up_to_the_loan_principal(landing: Path) -> None:
    con = duckdb.connect()
    con.register("loans", frame(landing, DATES[0], "loans"))
    con.register("inst", frame(landing, DATES[0], "installments"))
    mismatched = con.sql(
        """
        select loans.loan_id
        from loans join inst on inst.loan_id = loans.loan_id
        group by loans.loan_id, loans.principal_amount
        having sum(inst.principal_due) <> loans.principal_amount
        """
    ).fetchall()
    assert mismatched == []


def test_amounts_are_consistent_on_each_installment(landing: Path) -> None:
    inst = frame(landing, DATES[-1], "installments")
    for part in ("principal", "interest", "fee", "penalty"):
        assert (inst[f"{part}_paid"] <= inst[f"{part}_due"]).all(), part
        assert (inst[f"{part}_paid"] >= 0).all()
    assert (inst["last_payment_date"].drop_nulls() <= date.fromisoformat(DATES[-1])).all()
    loans = frame(landing, DATES[-1], "loans")
    assert (loans["outstanding_principal"] <= loans["principal_amount"]).all()
    assert (loans["origination_date"] <= date.fromisoformat(DATES[-1])).all()


def test_day_one_spans_every_bucket_and_status(landing: Path) -> None:
    dpd = dpd_frame(landing, DATES[0])
    buckets = dpd.select(
        pl.when(pl.col("dpd") == 0).then(0).otherwise((pl.col("dpd") - 1) // 30 + 1).clip(0, 7)
    ).to_series()
    assert set(buckets) == set(range(8))
    statuses = set(dpd["status"])
    assert {"ACTIVE", "CLOSED", "CHARGED_OFF", "WRITTEN_OFF"} <= statuses
    charged = dpd.filter(pl.col("status") == "CHARGED_OFF")
    assert (charged["dpd"] > 180).all()
    assert (dpd.filter(pl.col("status") == "ACTIVE")["dpd"] <= 180).all()
    # Most of the book pays on time.
    assert (dpd["dpd"] == 0).mean() > 0.75


def test_source_dpd_mostly_agrees_with_the_schedule(landing: Path) -> None:
    dpd = dpd_frame(landing, DATES[0])
    reported = dpd.filter(pl.col("source_dpd").is_not_null())
    assert 0.85 < reported.height / dpd.height < 1.0
    disagree = (reported["source_dpd"] != reported["dpd"]).mean()
    assert 0 < disagree < 0.05


def test_partial_payments_exist(landing: Path) -> None:
    inst = frame(landing, DATES[0], "installments")
    paid = inst["principal_paid"] + inst["interest_paid"]
    due = inst["principal_due"] + inst["interest_due"]
    assert ((paid > 0) & (paid < due)).sum() > 10


def test_next_day_follows_from_the_day_before(landing: Path) -> None:
    paid = ["principal_paid", "interest_paid", "fee_paid", "penalty_paid"]
    for before, after in zip(DATES, DATES[1:], strict=False):
        a = frame(landing, before, "installments")
        b = frame(landing, after, "installments")
        both = a.join(b, on=["loan_id", "installment_no"], suffix="_next")
        for column in paid:
            assert (both[f"{column}_next"] >= both[column]).all(), column
        for column in ("due_date", "principal_due", "interest_due", "fee_due"):
            assert (both[f"{column}_next"] == both[column]).all(), column
        moved = sum((both[f"{c}_next"] != both[c]).sum() for c in paid)
        assert moved > 0, "nobody paid anything"
        # A payment shows from its day on: what is paid on `after` was not paid on `before`.
        fresh = both.filter(pl.col("last_payment_date_next") == date.fromisoformat(after))
        assert fresh.height > 0
        assert (
            fresh.select(sum(pl.col(f"{c}_next") - pl.col(c) for c in paid) > 0).to_series().all()
        )

        loans_a = frame(landing, before, "loans")
        loans_b = frame(landing, after, "loans")
        gone = loans_a.join(loans_b, on="loan_id", how="anti")
        assert (gone["status"] == "CLOSED").all()
        new = loans_b.join(loans_a, on="loan_id", how="anti")
        assert (new["origination_date"] == date.fromisoformat(after)).all()
        assert new.height > 0
        assert loans_b.join(loans_a, on="loan_id").height >= 0.95 * loans_a.height


def test_contact_events_are_new_each_day_with_unique_ids(landing: Path) -> None:
    ids = [frame(landing, day, "contact_events")["event_id"] for day in DATES]
    everything = pl.concat(ids)
    assert everything.n_unique() == everything.len() > 0


def test_arrangements_and_holds_look_like_a_collections_book(landing: Path) -> None:
    day = date.fromisoformat(DATES[0])
    arr = frame(landing, DATES[0], "arrangements")
    assert {"PROMISE_TO_PAY", "INSTALLMENT_PLAN"} <= set(arr["kind"])
    assert (arr["created_date"] <= day).all()
    assert (arr["promised_date"] >= arr["created_date"]).all()
    assert (arr["promised_amount"] > 0).all()
    holds = frame(landing, DATES[0], "holds")
    assert holds.height > 0
    assert (holds["start_date"] <= day).all()
    assert (holds["end_date"].drop_nulls() >= day).all()


def test_customers_look_real(landing: Path) -> None:
    customers = frame(landing, DATES[0], "customers")
    phones = customers["phone"].drop_nulls()
    assert 0 < customers["phone"].null_count() < customers.height * 0.1
    assert all(re.match(r"^(\+86)?1[3-9]\d{9}$", p) for p in phones)
    assert any(p.startswith("+86") for p in phones)
    ids = customers["national_id"].drop_nulls().to_list()
    assert ids and all(len(i) == 18 and valid_national_id(i) for i in ids)
    assert all(re.match(r"^[\u4e00-\u9fff]{2,5}$", n) for n in customers["full_name"])
    assert set(customers["language"]) == {"zh"}
    assert "Asia/Urumqi" in set(customers["timezone"].drop_nulls())
    assert customers["timezone"].null_count() > 0.9 * customers.height
    assert 0 < customers["address"].null_count() < 0.2 * customers.height
    assert all(re.match(r"^\d{6}$", p) for p in customers["postal_code"].drop_nulls())
    loans = frame(landing, DATES[0], "loans")
    per_customer = loans.group_by("customer_id").len()["len"]
    assert per_customer.max() > 1 and (per_customer == 1).mean() > 0.5
    assert {"consumer_loan", "microloan", "credit_card"} <= set(loans["product"])
    assert set(loans["currency"]) == {"CNY"}


def valid_national_id(value: str) -> bool:
    """ISO 7064 MOD 11-2, written independently of the generator."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    if not value[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], weights, strict=True))
    return "10X98765432"[total % 11] == value[17]


def test_id_check_digit_of_known_ids() -> None:
    bodies = np.array([11010519491231002, 44030519800101001], dtype=np.int64)
    digits = id_check_digits(bodies)
    assert digits[0] == "X"  # 11010519491231002X, the standard's worked example
    assert valid_national_id(f"{bodies[1]}{digits[1]}")
    assert not valid_national_id(f"{bodies[1]}{'0' if digits[1] != '0' else '1'}")


def test_calendar_arithmetic_matches_the_standard_library() -> None:
    days = np.arange(to_day(date(1960, 1, 1)), to_day(date(2040, 12, 31)))
    y, m, d = civil(days)
    assert [date(int(y[i]), int(m[i]), int(d[i])) for i in (0, 4000, 20000)] == [
        date(1960, 1, 1) + timedelta(days=i) for i in (0, 4000, 20000)
    ]
    assert (from_civil(y, m, d) == days).all()
    jan31 = np.array([to_day(date(2024, 1, 31))])
    assert add_months(jan31, np.array([1]), np.array([28]))[0] == to_day(date(2024, 2, 28))


def test_same_seed_same_bytes_other_seed_other_book(tmp_path: Path) -> None:
    def files(root: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
        }

    generate_landing(tmp_path / "a", START, 2, 300, seed=11)
    generate_landing(tmp_path / "b", START, 2, 300, seed=11)
    generate_landing(tmp_path / "c", START, 2, 300, seed=12)
    a, b, c = files(tmp_path / "a"), files(tmp_path / "b"), files(tmp_path / "c")
    assert a == b
    assert a.keys() == c.keys()
    assert a["2025-06-01/loans.csv"] != c["2025-06-01/loans.csv"]
    assert a["2025-06-01/customers.csv"] != c["2025-06-01/customers.csv"]


def test_a_day_does_not_depend_on_how_many_days_were_generated(tmp_path: Path) -> None:
    generate_landing(tmp_path / "one", START, 1, 300, seed=3)
    generate_landing(tmp_path / "three", START, 3, 300, seed=3)
    for name in DATASETS:
        one = (tmp_path / "one" / "2025-06-01" / f"{name}.csv").read_bytes()
        assert one == (tmp_path / "three" / "2025-06-01" / f"{name}.csv").read_bytes(), name


def test_optional_files_can_be_left_out_and_reruns_replace_the_folder(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    generate_landing(tmp_path, START, 3, 200, seed=5, progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1][0] == calls[-1][1]
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)

    generate_landing(tmp_path, START, 3, 200, seed=5, fmt="parquet", skip_optional_every=2)
    day3 = tmp_path / "2025-06-03"
    names = sorted(p.name for p in day3.iterdir())
    assert names == [
        "contact_events.parquet",
        "customers.parquet",
        "installments.parquet",
        "loans.parquet",
    ]
    assert (tmp_path / "2025-06-02" / "holds.parquet").exists()
    loans = pl.read_parquet(tmp_path / "2025-06-01" / "loans.parquet")
    assert loans.columns == DATASETS["loans"].column_names
    assert loans.schema["principal_amount"] == pl.Decimal(18, 2)
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize(("days", "loans", "fmt"), [(0, 10, "csv"), (1, 0, "csv"), (1, 10, "json")])
def test_bad_arguments_are_refused(tmp_path: Path, days: int, loans: int, fmt: str) -> None:
    with pytest.raises(ConfigError):
        generate_landing(tmp_path, START, days, loans, fmt=fmt)  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())
