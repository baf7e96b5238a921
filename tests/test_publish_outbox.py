"""Outbox files: columns per channel, rows, personal data placement, manifest, idempotence, CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from fixtures.pii_support import TEST_KEY
from polars.testing import assert_frame_equal

from arrears import warehouse
from arrears.contract import PERSONAL_COLUMNS
from arrears.errors import ArrearsError, ConfigError
from arrears.pii.sealing import seal_table
from arrears.publish import (
    ALLOWED_PERSONAL_COLUMNS,
    OutboxEncodingError,
    OutboxIncomplete,
    PersonalDataViolation,
    check_personal_columns,
    publish_outbox,
    verify_outbox,
)
from arrears.publish import columns as publish_columns
from arrears.publish.manifest import file_sha256

SNAPSHOT = date(2025, 6, 30)
ACTION = date(2025, 7, 1)
CHANNELS = ("sms", "call", "email", "letter", "visit", "legal")


def table(text: str) -> list[tuple]:
    """Rows of a '|'-separated table; '-' is null."""
    lines = [line for line in text.strip().splitlines() if not line.startswith("#")]
    return [
        tuple(None if cell.strip() == "-" else cell.strip() for cell in line.split("|"))
        for line in lines
    ]


CUSTOMERS = table(
    """
# customer_id|full_name|national_id|phone|email|address|city|province|postal_code
C1|张三|110101199001011234|+8613800000001|zs@example.cn|北京市朝阳区建国路1号|北京|北京市|100020
C2|李四|310101198502023456|13900000002|ls@example.cn|上海市浦东新区世纪大道2号|上海|上海市|200120
C3|王五|440101197703035678|+8613700000003|ww@example.cn|广州市天河区体育西路3号|广州|广东省|510620
C4|Maria Lopez|US-NID-44|+12125550104|ml@example.com|4 Elm Street|Springfield|IL|62704
"""
)
# An older snapshot of C1 whose values must never be published for SNAPSHOT's actions.
OLD_C1 = table(
    "C1|张三旧|110101199001019999|+8613800009999|old@example.cn|北京市旧地址9号|旧城|北京市|100099"
)[0]

ACTIONS = [
    (a, c, loans.split(";"), p, ch, st, int(pr), od, os_, off, m and int(m), tpl, var)
    for a, c, loans, p, ch, st, pr, od, os_, off, m, tpl, var in table(
        """
# action_id|customer|loan_ids|primary|channel|stage|priority|overdue|outstanding|offset
#   |max_attempts|template|variant
A-SMS-1   |C1|L1    |L1|SMS   |REMINDER|2|120.50  |3000.00 |+08:00|-|sms_reminder|champion
A-SMS-2   |C2|L2    |L2|SMS   |CALL    |1|880.00  |5000.10 |+08:00|-|sms_call    |challenger
A-CALL-1  |C1|L1;L1B|L1|CALL  |CALL    |1|1200.40 |9000.00 |+08:00|6|call_v1     |champion
A-EMAIL-1 |C2|L2    |L2|EMAIL |CALL    |1|880.00  |5000.10 |+08:00|-|email_v1    |challenger
A-LETTER-1|C3|L3;L3B|L3|LETTER|VISIT   |1|6000.00 |30000.00|+08:00|-|letter_v1   |champion
A-VISIT-1 |C3|L3;L3B|L3|VISIT |VISIT   |1|6000.00 |30000.00|+08:00|-|visit_v1    |champion
A-LEGAL-1 |C4|L4    |L4|LEGAL |LEGAL   |1|25000.00|40000.00|-05:00|-|legal_v1    |champion
"""
    )
]

EXPECTED_COLUMNS = {
    "sms": [
        "action_id",
        "action_date",
        "customer_id",
        "loan_ids",
        "primary_loan_id",
        "stage",
        "priority",
        "overdue_amount",
        "outstanding_amount",
        "currency",
        "window_start",
        "window_end",
        "timezone",
        "template",
        "strategy_version",
        "strategy_variant",
        "phone",
    ],
    "call": [
        "action_id",
        "action_date",
        "customer_id",
        "loan_ids",
        "primary_loan_id",
        "stage",
        "priority",
        "overdue_amount",
        "outstanding_amount",
        "currency",
        "window_start",
        "window_end",
        "timezone",
        "max_attempts",
        "template",
        "strategy_version",
        "strategy_variant",
        "phone",
        "full_name",
    ],
    "email": [
        "action_id",
        "action_date",
        "customer_id",
        "loan_ids",
        "primary_loan_id",
        "stage",
        "priority",
        "overdue_amount",
        "outstanding_amount",
        "currency",
        "window_start",
        "window_end",
        "timezone",
        "template",
        "strategy_version",
        "strategy_variant",
        "email",
    ],
    "letter": [
        "action_id",
        "action_date",
        "customer_id",
        "loan_ids",
        "primary_loan_id",
        "stage",
        "priority",
        "overdue_amount",
        "outstanding_amount",
        "currency",
        "window_start",
        "window_end",
        "timezone",
        "template",
        "strategy_version",
        "strategy_variant",
        "full_name",
        "address",
        "city",
        "province",
        "postal_code",
    ],
    "visit": [
        "action_id",
        "action_date",
        "customer_id",
        "loan_ids",
        "primary_loan_id",
        "stage",
        "priority",
        "overdue_amount",
        "outstanding_amount",
        "currency",
        "window_start",
        "window_end",
        "timezone",
        "template",
        "strategy_version",
        "strategy_variant",
        "full_name",
        "address",
        "city",
        "province",
        "postal_code",
        "branch",
    ],
    "legal": [
        "action_id",
        "action_date",
        "customer_id",
        "loan_ids",
        "primary_loan_id",
        "stage",
        "priority",
        "overdue_amount",
        "outstanding_amount",
        "currency",
        "window_start",
        "window_end",
        "timezone",
        "template",
        "strategy_version",
        "strategy_variant",
        "full_name",
        "national_id",
    ],
}


def insert_customer(con, snapshot: date, row: tuple) -> None:
    con.execute(
        """insert into raw.customers (snapshot_date, customer_id, full_name, national_id, phone,
               email, address, city, province, postal_code)
           values ($d, $c, $n, $nid, $p, $e, $a, $city, $prov, $post)""",
        dict(
            zip(
                ["d", "c", "n", "nid", "p", "e", "a", "city", "prov", "post"],
                (snapshot, *row),
                strict=True,
            )
        ),
    )
    seal_table(con, "raw.customers", TEST_KEY)


def insert_action(
    con,
    action: tuple,
    action_date: date = ACTION,
    snapshot: date = SNAPSHOT,
    strategy_version: str = "2025.06",
) -> None:
    (
        action_id,
        customer,
        loans,
        primary,
        channel,
        stage,
        priority,
        overdue,
        outstanding,
        offset,
        max_attempts,
        template,
        variant,
    ) = action
    tz = "America/Chicago" if offset == "-05:00" else "Asia/Shanghai"
    con.execute(
        """insert into marts.collection_actions (
            action_id, action_date, snapshot_date, customer_id, loan_ids, primary_loan_id,
            channel, stage, priority, risk_score, overdue_amount, outstanding_amount,
            window_start, window_end, timezone, max_attempts, template, strategy_version,
            strategy_variant
        ) values (
               $id, $ad, $sd, $c, $loans, $primary, $channel, $stage, $priority, 0.5,
               $overdue::decimal(18,2), $outstanding::decimal(18,2),
               ($day || ' 08:00:00' || $off)::timestamptz,
               ($day || ' 20:00:00' || $off)::timestamptz,
               $tz, $max, $template, $version, $variant)""",
        {
            "id": action_id,
            "ad": action_date,
            "sd": snapshot,
            "c": customer,
            "loans": loans,
            "primary": primary,
            "channel": channel,
            "stage": stage,
            "priority": priority,
            "overdue": overdue,
            "outstanding": outstanding,
            "day": action_date.isoformat(),
            "off": offset,
            "tz": tz,
            "max": max_attempts,
            "template": template,
            "version": strategy_version,
            "variant": variant,
        },
    )


def insert_loan_branch(con, loan_id: str, customer: str, branch: str, snapshot: date = SNAPSHOT):
    con.execute(
        """insert into marts.loan_aging (snapshot_date, loan_id, customer_id, product, branch,
               currency, status, is_aged, dpd, bucket, aging_term, loan_class, ifrs9_stage,
               transition, overdue_installments, overdue_principal_amount, overdue_interest_amount,
               overdue_fees_amount, overdue_amount, outstanding_principal, paid_to_date_amount,
               has_source_dpd_mismatch)
           values ($d, $l, $c, 'consumer_loan', $b, 'CNY', 'ACTIVE', true, 70, 'M3', 'MEDIUM',
               'SPECIAL_MENTION', 2, 'STAY', 3, 0, 0, 0, 0, 0, 0, false)""",
        {"d": snapshot, "l": loan_id, "c": customer, "b": branch},
    )


@pytest.fixture
def con():
    connection = warehouse.connect(":memory:")
    for customer in CUSTOMERS:
        insert_customer(connection, SNAPSHOT, customer)
    insert_customer(connection, date(2025, 6, 29), OLD_C1)
    for action in ACTIONS:
        insert_action(connection, action)
    insert_loan_branch(connection, "L3", "C3", "GZ-TIANHE")
    insert_loan_branch(connection, "L3", "C3", "OLD-BRANCH", snapshot=date(2025, 6, 29))
    # Another action date: must not leak into ACTION's files.
    insert_action(
        connection,
        (
            "A-NEXT-DAY",
            "C1",
            ["L1"],
            "L1",
            "SMS",
            "REMINDER",
            1,
            "1.00",
            "1.00",
            "+08:00",
            None,
            "sms_reminder",
            "champion",
        ),
        action_date=date(2025, 7, 2),
        snapshot=date(2025, 7, 1),
    )
    yield connection
    connection.close()


def publish(con, outbox: Path, run_id: str = "run-1", csv_channels=CHANNELS, **kwargs):
    return publish_outbox(con, ACTION, outbox, run_id, list(csv_channels), key=TEST_KEY, **kwargs)


def read_parquet(path: Path) -> pl.DataFrame:
    return pl.read_parquet(path)


def read_csv_rows(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


# --- columns --------------------------------------------------------------------------------


def test_channel_columns_are_exactly_as_documented(con, tmp_path):
    publish(con, tmp_path)
    folder = tmp_path / ACTION.isoformat()
    for channel in CHANNELS:
        assert read_parquet(folder / f"{channel}.parquet").columns == EXPECTED_COLUMNS[channel]
        header = (folder / f"{channel}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == EXPECTED_COLUMNS[channel]


def test_docs_list_every_channel_column_in_order():
    docs = (Path(__file__).resolve().parent.parent / "docs" / "outbox.md").read_text("utf-8")
    for channel, columns in EXPECTED_COLUMNS.items():
        section = docs.split(f"### {channel}.parquet")[1].split("\n### ")[0]
        line = next(x for x in section.splitlines() if x.startswith("Columns, in order:"))
        documented = [part.strip(" `.") for part in line.split(":", 1)[1].split(",")]
        assert documented == columns, channel


def test_parquet_types_and_rows_in_priority_order(con, tmp_path):
    publish(con, tmp_path)
    sms = read_parquet(tmp_path / ACTION.isoformat() / "sms.parquet")
    utc = UTC
    expected = pl.DataFrame(
        {
            "action_id": ["A-SMS-2", "A-SMS-1"],
            "action_date": [ACTION, ACTION],
            "customer_id": ["C2", "C1"],
            "loan_ids": [["L2"], ["L1"]],
            "primary_loan_id": ["L2", "L1"],
            "stage": ["CALL", "REMINDER"],
            "priority": [1, 2],
            "overdue_amount": [Decimal("880.00"), Decimal("120.50")],
            "outstanding_amount": [Decimal("5000.10"), Decimal("3000.00")],
            # no loan_aging row for L1 and L2 here: the currency is unknown (null)
            "currency": [None, None],
            "window_start": [datetime(2025, 7, 1, 0, 0, tzinfo=utc)] * 2,
            "window_end": [datetime(2025, 7, 1, 12, 0, tzinfo=utc)] * 2,
            "timezone": ["Asia/Shanghai"] * 2,
            "template": ["sms_call", "sms_reminder"],
            "strategy_version": ["2025.06"] * 2,
            "strategy_variant": ["challenger", "champion"],
            "phone": ["+8613900000002", "+8613800000001"],
        },
        schema_overrides={
            "currency": pl.String,
            "priority": pl.Int32,
            "overdue_amount": pl.Decimal(18, 2),
            "outstanding_amount": pl.Decimal(18, 2),
            "window_start": pl.Datetime("us", "UTC"),
            "window_end": pl.Datetime("us", "UTC"),
        },
    )
    assert_frame_equal(sms, expected)


def test_csv_renders_lists_local_windows_and_two_decimals(con, tmp_path):
    publish(con, tmp_path)
    folder = tmp_path / ACTION.isoformat()
    call = read_csv_rows(folder / "call.csv")
    assert call == [
        {
            "action_id": "A-CALL-1",
            "action_date": "2025-07-01",
            "customer_id": "C1",
            "loan_ids": "L1;L1B",
            "primary_loan_id": "L1",
            "stage": "CALL",
            "priority": "1",
            "overdue_amount": "1200.40",
            "outstanding_amount": "9000.00",
            "currency": "",
            "window_start": "2025-07-01T08:00:00+08:00",
            "window_end": "2025-07-01T20:00:00+08:00",
            "timezone": "Asia/Shanghai",
            "max_attempts": "6",
            "template": "call_v1",
            "strategy_version": "2025.06",
            "strategy_variant": "champion",
            "phone": "+8613800000001",
            "full_name": "张三",
        }
    ]
    legal = read_csv_rows(folder / "legal.csv")
    assert legal[0]["window_start"] == "2025-07-01T08:00:00-05:00"
    assert legal[0]["national_id"] == "US-NID-44"


def test_visit_gets_branch_of_primary_loan_at_the_snapshot(con, tmp_path):
    publish(con, tmp_path)
    visit = read_parquet(tmp_path / ACTION.isoformat() / "visit.parquet")
    assert visit.select("action_id", "branch", "postal_code").rows() == [
        ("A-VISIT-1", "GZ-TIANHE", "510620")
    ]


def test_csv_only_for_configured_channels(con, tmp_path):
    manifest = publish(con, tmp_path, csv_channels=["CALL", "letter"])
    names = sorted(p.name for p in (tmp_path / ACTION.isoformat()).iterdir())
    assert names == sorted(
        ["_manifest.json", "call.csv", "letter.csv"]
        + [f"{c}.parquet" for c in CHANNELS]
        + [f"{c}.schema.json" for c in CHANNELS]
    )
    assert sorted(f.name for f in manifest.files) == sorted(
        n for n in names if n != "_manifest.json" and not n.endswith(".schema.json")
    )
    assert sorted(f.name for f in manifest.schemas) == sorted(
        n for n in names if n.endswith(".schema.json")
    )


def test_channel_without_actions_gets_an_empty_file_with_its_schema(con, tmp_path):
    con.execute("delete from marts.collection_actions where channel = 'EMAIL'")
    manifest = publish(con, tmp_path)
    folder = tmp_path / ACTION.isoformat()
    email = read_parquet(folder / "email.parquet")
    assert email.height == 0
    assert email.columns == EXPECTED_COLUMNS["email"]
    assert (folder / "email.csv").read_text("utf-8") == ",".join(EXPECTED_COLUMNS["email"]) + "\n"
    assert manifest.file("email.parquet").rows == 0


def test_date_without_any_action_publishes_empty_set(con, tmp_path):
    manifest = publish_outbox(con, date(2025, 8, 1), tmp_path, "run-1", [], key=TEST_KEY)
    assert [f.rows for f in manifest.files] == [0] * 6
    assert manifest.snapshot_date == date(2025, 7, 31)
    assert manifest.strategy_versions == ()
    verify_outbox(tmp_path / "2025-08-01")


# --- personal data ---------------------------------------------------------------------------


def test_each_personal_value_appears_only_in_files_of_channels_that_need_it(con, tmp_path):
    publish(con, tmp_path)
    folder = tmp_path / ACTION.isoformat()
    names = [
        "customer_id",
        "full_name",
        "national_id",
        "phone",
        "email",
        "address",
        "city",
        "province",
        "postal_code",
    ]
    personal_values: dict[str, str] = {}  # value -> the personal column it belongs to
    for row in [*CUSTOMERS, OLD_C1]:
        for column, value in zip(names, row, strict=True):
            if column in PERSONAL_COLUMNS:
                personal_values[value] = column
            if column == "phone" and not value.startswith("+"):
                personal_values["+86" + value] = column  # as published, in E.164
    seen: set[str] = set()
    for path in sorted(folder.iterdir()):
        if path.suffix == ".parquet":
            frame = read_parquet(path)
            cells = {
                str(v)
                for col in frame.columns
                if frame[col].dtype == pl.String
                for v in frame[col].to_list()
            }
        elif path.suffix == ".csv":
            cells = {v for row in read_csv_rows(path) for v in row.values()}
        else:
            cells = {json.dumps(v) for v in json.loads(path.read_text("utf-8")).values()}
            assert not any(value in path.read_text("utf-8") for value in personal_values), path
            continue
        channel = path.stem
        for value in cells & personal_values.keys():
            assert personal_values[value] in ALLOWED_PERSONAL_COLUMNS[channel], (path.name, value)
            seen.add(value)
    # Every current value of a customer with an action in a channel that needs it was published,
    # and nothing of the older snapshot was.
    assert not seen & set(OLD_C1)
    assert "张三" in seen and "US-NID-44" in seen and "ls@example.cn" in seen
    assert "广州市天河区体育西路3号" in seen and "+8613900000002" in seen
    # The 11-digit form is never published: every phone goes out in E.164.
    assert "13900000002" not in seen
    # C2's national id is not needed by SMS or EMAIL: it must appear nowhere.
    assert "310101198502023456" not in seen


def test_marts_never_receive_personal_columns():
    con = warehouse.connect(":memory:")
    rows = con.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts'"
    ).fetchall()
    assert rows
    assert not [r for r in rows if r[1] in PERSONAL_COLUMNS]


def test_check_personal_columns_guard():
    check_personal_columns("call", EXPECTED_COLUMNS["call"])
    check_personal_columns("VISIT", EXPECTED_COLUMNS["visit"])
    with pytest.raises(PersonalDataViolation, match="national_id"):
        check_personal_columns("sms", ["action_id", "phone", "national_id"])
    with pytest.raises(PersonalDataViolation, match="full_name"):
        check_personal_columns("email", ["email", "FULL_NAME"])
    with pytest.raises(ValueError, match="unknown channel"):
        check_personal_columns("fax", ["action_id"])
    assert ALLOWED_PERSONAL_COLUMNS["sms"] == {"phone"}
    assert ALLOWED_PERSONAL_COLUMNS["legal"] == {"full_name", "national_id"}


def test_publish_refuses_a_channel_column_beyond_its_allowance(con, tmp_path, monkeypatch):
    publish(con, tmp_path, run_id="run-1")
    monkeypatch.setitem(publish_columns.RECIPIENT_COLUMNS, "sms", ("phone", "national_id"))
    with pytest.raises(PersonalDataViolation):
        publish(con, tmp_path, run_id="run-2")
    assert verify_outbox(tmp_path / ACTION.isoformat()).run_id == "run-1"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".2025-07-01.lock", "2025-07-01"]


# --- manifest and idempotence ----------------------------------------------------------------


def test_manifest_describes_every_file(con, tmp_path):
    manifest = publish(con, tmp_path, run_id="run-42")
    folder = tmp_path / ACTION.isoformat()
    data = json.loads((folder / "_manifest.json").read_text("utf-8"))
    assert data["run_id"] == "run-42"
    assert data["snapshot_date"] == "2025-06-30"
    assert data["action_date"] == "2025-07-01"
    assert data["strategy_versions"] == ["2025.06"]
    assert data["variant_counts"] == {"challenger": 2, "champion": 5}
    assert datetime.fromisoformat(data["generated_at"]).tzinfo is not None
    rows = {f["name"]: f["rows"] for f in data["files"]}
    assert rows == {
        "sms.parquet": 2,
        "sms.csv": 2,
        "call.parquet": 1,
        "call.csv": 1,
        "email.parquet": 1,
        "email.csv": 1,
        "letter.parquet": 1,
        "letter.csv": 1,
        "visit.parquet": 1,
        "visit.csv": 1,
        "legal.parquet": 1,
        "legal.csv": 1,
    }
    for entry in data["files"]:
        sha256, size = file_sha256(folder / entry["name"])
        assert (entry["sha256"], entry["bytes"]) == (sha256, size)
    assert data["content_sha256"] == manifest.content_sha256
    assert verify_outbox(folder) == manifest


def test_verify_outbox_rejects_missing_manifest_and_changed_files(con, tmp_path):
    publish(con, tmp_path)
    folder = tmp_path / ACTION.isoformat()
    with (folder / "sms.csv").open("a", encoding="utf-8") as handle:
        handle.write("tampered\n")
    with pytest.raises(OutboxIncomplete, match="sms.csv"):
        verify_outbox(folder)
    (folder / "_manifest.json").unlink()
    with pytest.raises(OutboxIncomplete, match="no _manifest.json"):
        verify_outbox(folder)


def test_rerun_gives_byte_identical_data_files(con, tmp_path):
    first = publish(con, tmp_path / "a", run_id="run-1", csv_encoding="gb18030")
    second = publish(con, tmp_path / "a", run_id="run-2", csv_encoding="gb18030")
    other = publish(con, tmp_path / "b", run_id="run-3", csv_encoding="gb18030")
    assert [f.to_dict() for f in first.files] == [f.to_dict() for f in second.files]
    assert [f.to_dict() for f in first.files] == [f.to_dict() for f in other.files]
    assert first.content_sha256 == second.content_sha256 == other.content_sha256
    assert (first.run_id, second.run_id) == ("run-1", "run-2")
    for f in other.files:
        a = (tmp_path / "a" / ACTION.isoformat() / f.name).read_bytes()
        b = (tmp_path / "b" / ACTION.isoformat() / f.name).read_bytes()
        assert a == b, f.name


def test_changed_actions_change_the_content_hash(con, tmp_path):
    first = publish(con, tmp_path, run_id="run-1")
    con.execute("update marts.collection_actions set priority = 9 where action_id = 'A-SMS-2'")
    second = publish(con, tmp_path, run_id="run-2")
    assert first.content_sha256 != second.content_sha256
    assert first.file("call.parquet") == second.file("call.parquet")
    assert first.file("sms.parquet") != second.file("sms.parquet")
    sms = read_parquet(tmp_path / ACTION.isoformat() / "sms.parquet")
    assert sms["action_id"].to_list() == ["A-SMS-1", "A-SMS-2"]


# --- CSV encodings and refusals --------------------------------------------------------------


def test_gb18030_csv_round_trips(con, tmp_path):
    publish(con, tmp_path / "utf8", csv_encoding="utf-8")
    publish(con, tmp_path / "gb", csv_encoding="GB18030")
    for channel in CHANNELS:
        utf8 = (tmp_path / "utf8" / ACTION.isoformat() / f"{channel}.csv").read_bytes()
        gb = (tmp_path / "gb" / ACTION.isoformat() / f"{channel}.csv").read_bytes()
        assert gb.decode("gb18030") == utf8.decode("utf-8")
    letter = (tmp_path / "gb" / ACTION.isoformat() / "letter.csv").read_bytes()
    assert "王五".encode("gb18030") in letter
    assert "王五".encode() not in letter
    assert (
        read_csv_rows(tmp_path / "gb" / ACTION.isoformat() / "letter.csv", "gb18030")[0]["address"]
        == "广州市天河区体育西路3号"
    )
    manifest = verify_outbox(tmp_path / "gb" / ACTION.isoformat())
    assert manifest.file("letter.csv").encoding == "gb18030"
    assert not list((tmp_path / "gb" / ACTION.isoformat()).glob(".*"))


def test_encoding_that_cannot_hold_a_value_fails_without_showing_it(con, tmp_path):
    publish(con, tmp_path, run_id="run-1")
    with pytest.raises(OutboxEncodingError) as failure:
        publish(con, tmp_path, run_id="run-2", csv_encoding="latin-1")
    message = str(failure.value)
    assert "latin-1" in message
    assert not any(c in message for c in "张三李四王五")
    assert verify_outbox(tmp_path / ACTION.isoformat()).run_id == "run-1"


def test_bad_csv_configuration_is_a_config_error(con, tmp_path):
    with pytest.raises(ConfigError, match="fax"):
        publish(con, tmp_path, csv_channels=["sms", "fax"])
    with pytest.raises(ConfigError, match="klingon"):
        publish(con, tmp_path, csv_encoding="klingon")
    assert not (tmp_path / ACTION.isoformat()).exists()


def test_mixed_snapshot_dates_are_refused(con, tmp_path):
    insert_action(
        con,
        (
            "A-ODD",
            "C1",
            ["L1"],
            "L1",
            "EMAIL",
            "CALL",
            5,
            "1.00",
            "1.00",
            "+08:00",
            None,
            "email_v1",
            "champion",
        ),
        snapshot=date(2025, 6, 29),
    )
    with pytest.raises(ArrearsError, match="mixes snapshot dates"):
        publish(con, tmp_path)


def test_loan_id_with_the_csv_separator_is_refused_for_csv(con, tmp_path):
    con.execute(
        "update marts.collection_actions set loan_ids = ['L;1'] where action_id = 'A-SMS-1'"
    )
    with pytest.raises(ArrearsError, match="';'"):
        publish(con, tmp_path, csv_channels=["sms"])
    manifest = publish(con, tmp_path, csv_channels=[])
    assert manifest.file("sms.parquet").rows == 2


def test_parquet_writer_is_deterministic_for_many_rows_and_threads(tmp_path):
    con = warehouse.connect(":memory:")
    con.execute("set threads = 2")
    con.execute(
        """insert into marts.collection_actions (
            action_id, action_date, snapshot_date, customer_id, loan_ids, primary_loan_id,
            channel, stage, priority, risk_score, overdue_amount, outstanding_amount,
            window_start, window_end, timezone, max_attempts, template, strategy_version,
            strategy_variant
        )
           select 'A' || lpad(i::varchar, 7, '0'), date '2025-07-01', date '2025-06-30',
                  'C' || i, ['L' || i], 'L' || i, 'SMS', 'REMINDER', (i * 7919) % 1000, 0.5,
                  (i % 5000)::decimal(18,2), 1000.00, timestamptz '2025-07-01 08:00:00+08',
                  timestamptz '2025-07-01 22:00:00+08', 'Asia/Shanghai', null, 'sms',
                  'v1', 'champion'
           from range(300000) r(i)"""
    )
    first = publish_outbox(con, ACTION, tmp_path / "a", "run-1", [], key=TEST_KEY)
    second = publish_outbox(con, ACTION, tmp_path / "b", "run-2", [], key=TEST_KEY)
    assert first.file("sms.parquet").rows == 300_000
    assert first.file("sms.parquet") == second.file("sms.parquet")
    priorities = pl.read_parquet(tmp_path / "a" / ACTION.isoformat() / "sms.parquet")["priority"]
    assert priorities.is_sorted()
