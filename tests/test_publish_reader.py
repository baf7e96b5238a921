"""Downstream reading: schema files, typed CSV, and one consistent set during a rerun's swap."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from test_publish_outbox import (  # noqa: F401 (con: the fixture)
    ACTION,
    CHANNELS,
    con,
    insert_loan_branch,
    publish,
)

from arrears.publish import OutboxIncomplete, read_outbox, verify_outbox
from arrears.publish.columns import COLUMN_TYPES, channel_columns
from arrears.publish.manifest import Manifest
from arrears.publish.reader import POLARS_TYPES


def test_schema_files_state_the_parquet_types_and_csv_reads_back_to_them(con, tmp_path):  # noqa: F811
    con.execute("delete from marts.collection_actions where channel = 'EMAIL'")
    publish(con, tmp_path)
    with read_outbox(tmp_path, ACTION) as outbox:
        for channel in CHANNELS:
            schema = outbox.schema(channel)
            assert schema["channel"] == channel.upper()
            assert [c["name"] for c in schema["columns"]] == list(channel_columns(channel))
            parquet = outbox.frame(channel)
            assert parquet.schema == pl.Schema(
                {c["name"]: POLARS_TYPES[c["type"]] for c in schema["columns"]}
            )
            # CSV cast with the schema gives the Parquet frame, value for value.
            assert_frame_equal(outbox.frame(channel, "csv"), parquet)
        email = outbox.frame("email", "csv")
        assert email.height == 0 and email.schema == outbox.frame("email").schema
        letter = outbox.frame("letter", "csv")
        assert letter["postal_code"].dtype == pl.String
        assert str(outbox.frame("call", "csv")["overdue_amount"][0]) == "1200.40"


def test_schema_files_are_the_same_every_day(con, tmp_path):  # noqa: F811
    first = publish(con, tmp_path / "a")
    con.execute("delete from marts.collection_actions")
    second = publish(con, tmp_path / "b")
    assert first.content_sha256 != second.content_sha256
    assert [s.to_dict() for s in first.schemas] == [s.to_dict() for s in second.schemas]
    assert set(COLUMN_TYPES.values()) == set(POLARS_TYPES)


def test_a_read_straddling_a_rerun_starts_again_on_the_new_set(con, tmp_path):  # noqa: F811
    publish(con, tmp_path, run_id="run-1")
    con.execute("update marts.collection_actions set priority = 9 where action_id = 'A-SMS-2'")
    attempts: list[int] = []

    def rerun_between_manifest_and_files(attempt: int) -> None:
        attempts.append(attempt)
        if attempt == 0:
            # The rerun swaps its set in and deletes the one whose manifest was just read.
            publish(con, tmp_path, run_id="run-2")

    with read_outbox(tmp_path, ACTION, between=rerun_between_manifest_and_files) as outbox:
        assert attempts == [0, 1]
        assert outbox.manifest.run_id == "run-2"
        assert outbox.frame("sms")["action_id"].to_list() == ["A-SMS-1", "A-SMS-2"]


def test_a_set_opened_before_a_rerun_is_read_whole(con, tmp_path):  # noqa: F811
    publish(con, tmp_path, run_id="run-1")
    with read_outbox(tmp_path, ACTION) as outbox:
        con.execute("update marts.collection_actions set priority = 9 where action_id = 'A-SMS-2'")
        publish(con, tmp_path, run_id="run-2")
        # The folder now holds the new set and the old one is deleted, but this reader holds
        # the old files open.
        assert Manifest.read(tmp_path / ACTION.isoformat()).run_id == "run-2"
        assert sorted(p.name for p in tmp_path.iterdir()) == [".2025-07-01.lock", "2025-07-01"]
        assert outbox.manifest.run_id == "run-1"
        assert outbox.frame("sms")["action_id"].to_list() == ["A-SMS-2", "A-SMS-1"]
        assert outbox.frame("sms", "csv")["priority"].to_list() == [1, 2]
    with read_outbox(tmp_path, ACTION) as outbox:
        assert outbox.manifest.run_id == "run-2"


def test_unpublished_or_altered_sets_are_refused(con, tmp_path):  # noqa: F811
    with pytest.raises(OutboxIncomplete, match="not published"):
        with read_outbox(tmp_path, date(2030, 1, 1)):
            pass
    publish(con, tmp_path)
    folder = tmp_path / ACTION.isoformat()
    schema = json.loads((folder / "sms.schema.json").read_text("utf-8"))
    schema["columns"][0]["type"] = "int32"
    (folder / "sms.schema.json").write_text(json.dumps(schema), "utf-8")
    with pytest.raises(OutboxIncomplete, match="sms.schema.json differs"):
        with read_outbox(tmp_path, ACTION):
            pass
    with pytest.raises(OutboxIncomplete, match="sms.schema.json differs"):
        verify_outbox(folder)
    (folder / "_manifest.json").unlink()
    with pytest.raises(OutboxIncomplete, match="no _manifest.json"):
        with read_outbox(tmp_path, ACTION):
            pass


def test_phones_in_e164_and_currency_of_the_covered_loans(con, tmp_path):  # noqa: F811
    insert_loan_branch(con, "L3B", "C3", "GZ-TIANHE")  # L3 is there already: both CNY
    publish(con, tmp_path)
    with read_outbox(tmp_path, ACTION) as outbox:
        for channel in ("sms", "call"):
            for fmt in ("parquet", "csv"):
                phones = outbox.frame(channel, fmt)["phone"].to_list()
                assert phones and all(p.startswith("+") for p in phones), (channel, fmt)
        assert outbox.frame("sms")["phone"].to_list() == ["+8613900000002", "+8613800000001"]
        visit = outbox.frame("visit", "csv")
        assert visit["currency"].to_list() == ["CNY"]
        # L1 and L1B have no loan_aging row here: no currency is claimed for the amounts.
        assert outbox.frame("call")["currency"].to_list() == [None]
