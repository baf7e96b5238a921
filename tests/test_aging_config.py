"""aging.yaml: the default loads; a malformed range table is refused naming file, table, ranges."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from aging_support import age, aging_rows, expect, installment, loan

from arrears import warehouse
from arrears.aging import DEFAULT_AGING_CONFIG, load_aging_config
from arrears.errors import ConfigError


def default_data() -> dict:
    return yaml.safe_load(DEFAULT_AGING_CONFIG.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "aging.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_default_configuration_loads():
    config = load_aging_config()
    assert config.version == "1"
    assert config.tolerance == Decimal("1.00")
    assert [(r.label, r.min_dpd, r.max_dpd) for r in config.buckets] == [
        ("M0", 0, 0),
        ("M1", 1, 30),
        ("M2", 31, 60),
        ("M3", 61, 90),
        ("M4", 91, 120),
        ("M5", 121, 150),
        ("M6", 151, 180),
        ("M7", 181, None),
    ]
    assert [str(r) for r in config.aging_term] == [
        "NONE (0)",
        "SHORT (1-30)",
        "MEDIUM (31-90)",
        "LONG (91+)",
    ]
    assert [str(r) for r in config.loan_class.table_for("credit_card")] == [
        "NORMAL (0)",
        "SPECIAL_MENTION (1-90)",
        "SUBSTANDARD (91-120)",
        "DOUBTFUL (121-180)",
        "LOSS (181+)",
    ]
    assert [str(r) for r in config.loan_class.table_for("mortgage")] == [
        "NORMAL (0)",
        "SPECIAL_MENTION (1-90)",
        "SUBSTANDARD (91-270)",
        "DOUBTFUL (271-360)",
        "LOSS (361+)",
    ]
    assert [str(r) for r in config.ifrs9] == ["1 (0-30)", "2 (31-90)", "3 (91+)"]


def with_buckets(buckets: dict) -> dict:
    data = default_data()
    data["buckets"] = buckets
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            with_buckets({"M0": "0", "M1": "1-30", "M2": "31-60", "M3": "59-90", "M4": "91+"}),
            "aging.yaml: buckets: M2 (31-60) and M3 (59-90) overlap",
        ),
        (
            with_buckets({"M0": "0", "M1": "1-30", "M2": "31-60", "M3": "62-90", "M4": "91+"}),
            "aging.yaml: buckets: gap between M2 (31-60) and M3 (62-90): 61 not covered",
        ),
        (
            with_buckets({"M0": "0", "M1": "1-30", "M2": "41-60", "M3": "61+"}),
            "aging.yaml: buckets: gap between M1 (1-30) and M2 (41-60): 31-40 not covered",
        ),
        (
            with_buckets({"M0": "0", "M1": "1-30", "M7": "31-999"}),
            "aging.yaml: buckets: M7 (31-999) is the last range and does not reach infinity "
            "(write 31+)",
        ),
        (
            with_buckets({"M1": "1-30", "M2": "31+"}),
            "aging.yaml: buckets: M1 (1-30) is the lowest range and does not start at 0",
        ),
        (
            with_buckets({"M0": "0", "M1": "1+", "M2": "31+"}),
            "aging.yaml: buckets: M1 (1+) and M2 (31+) overlap",
        ),
        (
            with_buckets({"M0": "0", "M1": "30-1", "M2": "31+"}),
            "aging.yaml: buckets: M1 (30-1): the range ends before it starts",
        ),
        (
            with_buckets({"M0": "0", "M1": "1..30", "M2": "31+"}),
            "aging.yaml: buckets: M1: '1..30' is not a dpd range (write 0, 1-30 or 181+)",
        ),
        (
            with_buckets({"M0": "0", "CLOSED": "1+"}),
            "aging.yaml: buckets: CLOSED is reserved for roll-rate outcomes",
        ),
        (
            with_buckets([]),
            "aging.yaml: buckets: must map each label to a dpd range",
        ),
        (
            {**default_data(), "aging_term": {"NONE": "0", "SHORT": "1-30", "LONG": "91+"}},
            "aging.yaml: aging_term: gap between SHORT (1-30) and LONG (91+): 31-90 not covered",
        ),
        (
            {**default_data(), "ifrs9": {"1": "0-30", "2": "31-90", "3": "90+"}},
            "aging.yaml: ifrs9: 2 (31-90) and 3 (90+) overlap",
        ),
        (
            {**default_data(), "ifrs9": {"one": "0-30", "2": "31+"}},
            "aging.yaml: ifrs9: stage 'one' is not an integer",
        ),
        (
            {**default_data(), "bukets": {"M0": "0+"}},
            "aging.yaml: bukets: unknown field",
        ),
        (
            {**default_data(), "tolerance": "1.005"},
            "aging.yaml: tolerance: Decimal input should have no more than 2 decimal places",
        ),
        (
            {**default_data(), "tolerance": "-1.00"},
            "aging.yaml: tolerance: Input should be greater than or equal to 0",
        ),
        (
            {k: v for k, v in default_data().items() if k != "version"},
            "aging.yaml: version: missing",
        ),
    ],
    ids=[
        "overlap",
        "gap-one-day",
        "gap-range",
        "not-infinite",
        "not-from-0",
        "two-open-ends",
        "reversed",
        "bad-text",
        "reserved-label",
        "not-a-mapping",
        "aging-term-gap",
        "ifrs9-overlap",
        "ifrs9-label",
        "unknown-field",
        "tolerance-cents",
        "tolerance-negative",
        "no-version",
    ],
)
def test_refused(tmp_path, data, message):
    with pytest.raises(ConfigError) as raised:
        load_aging_config(write(tmp_path, data))
    assert message in str(raised.value)
    assert raised.value.exit_code == 2


def test_override_table_is_checked_and_named(tmp_path):
    data = default_data()
    data["loan_class"]["overrides"]["credit_card"]["DOUBTFUL"] = "121-170"
    with pytest.raises(
        ConfigError,
        match=(
            r"aging.yaml: loan_class.overrides.credit_card: gap between DOUBTFUL \(121-170\) "
            r"and LOSS \(181\+\): 171-180 not covered"
        ),
    ):
        load_aging_config(write(tmp_path, data))


def test_unknown_field_inside_a_section(tmp_path):
    data = default_data()
    data["loan_class"]["overide"] = {}
    with pytest.raises(ConfigError, match="aging.yaml: loan_class.overide: unknown field"):
        load_aging_config(write(tmp_path, data))


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the aging configuration"):
        load_aging_config(tmp_path / "nowhere.yaml")
    bad = tmp_path / "aging.yaml"
    bad.write_text("buckets: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="aging.yaml: not valid YAML"):
        load_aging_config(bad)


def test_ranges_in_any_order_are_sorted(tmp_path):
    config = load_aging_config(
        write(tmp_path, with_buckets({"LATE": "31+", "CURRENT": 0, "EARLY": "1-30"}))
    )
    assert [r.label for r in config.buckets] == ["CURRENT", "EARLY", "LATE"]


def test_configured_tables_and_tolerance_drive_the_sql(tmp_path):
    # A 5-day grace bucket, a 10.00 tolerance and a microloan class override.
    data = with_buckets({"CURRENT": "0-5", "LATE": "6-60", "DEFAULTED": "61+"})
    data["tolerance"] = "10.00"
    data["loan_class"]["overrides"] = {"microloan": {"NORMAL": "0-5", "LOSS": "6+"}}
    config = load_aging_config(write(tmp_path, data))
    d = date(2025, 6, 30)
    con = warehouse.connect(":memory:")
    age(
        con,
        d,
        [loan("GRACE"), loan("SMALL"), loan("LATE", product="microloan")],
        [
            installment("GRACE", date(2025, 6, 26)),
            installment("SMALL", date(2025, 5, 1), principal_paid="990.00", interest_paid="50.00"),
            installment("LATE", date(2025, 6, 20)),
        ],
        config=config,
    )
    expect(
        aging_rows(con, "dpd", "bucket", "loan_class"),
        [
            ("GRACE", 4, "CURRENT", "SPECIAL_MENTION"),
            ("LATE", 10, "LATE", "LOSS"),
            ("SMALL", 0, "CURRENT", "NORMAL"),
        ],
    )
    kpi = con.sql("select bucket, loans from work.kpi_daily").pl()
    expect(kpi, [("CURRENT", 2), ("LATE", 1), ("DEFAULTED", 0)])
    con.close()
