"""Personal data at rest (CONTRACT section 13): the key, sealing, the check that stops a run
with a missing or wrong key before anything changes, the upgrade of a clear warehouse, and
key rotation, killed at its two commit points."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from cryptography.exceptions import InvalidTag
from fixtures.make_v1 import FIXTURE

from arrears import warehouse
from arrears.cli import main
from arrears.errors import ConfigError
from arrears.pii import keys, sealing
from arrears.pii.keys import PiiKey
from arrears.settings import load_settings

D = date(2025, 6, 30)
CLEAR = [
    ("C1", "张三", "110101199003071234", "+8613800000001", "z@example.cn", "1 Road", "200001"),
    ("C2", "李四", None, "13900000002", None, "", "200002"),
]


def insert_clear(con, table: str = "raw.customers") -> None:
    for row in CLEAR:
        con.execute(
            f"insert into {table} (snapshot_date, customer_id, full_name, national_id, phone, "
            "email, address, postal_code, city) "
            "values ($d, $c, $n, $i, $p, $e, $a, $z, 'Shanghai')",
            dict(zip(["d", "c", "n", "i", "p", "e", "a", "z"], (D, *row), strict=True)),
        )


def opened(path: Path, key: PiiKey) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        frame = sealing.query_frame(
            con, "select customer_id, pii from raw.customers order by customer_id", {}
        )
    finally:
        con.close()
    values = sealing.open_records(frame["pii"].to_list(), frame["customer_id"].to_list(), key)
    return list(zip(frame["customer_id"].to_list(), *values.values(), strict=True))


@pytest.fixture
def sealed(tmp_path) -> tuple[Path, PiiKey]:
    """A warehouse whose raw.customers holds two sealed rows, its key in the default file."""
    path = tmp_path / "arrears.duckdb"
    con = warehouse.connect(path)
    insert_clear(con)
    key = PiiKey.generate()
    keys.write_key_file(tmp_path / "pii.key", key)
    with warehouse.transaction(con):
        sealing.seal_table(con, "raw.customers", key)
    con.close()
    return path, key


def test_the_first_run_creates_an_owner_only_key_file_and_says_where(tmp_path, caplog):
    settings = load_settings(warehouse=tmp_path / "data" / "arrears.duckdb")
    with caplog.at_level(logging.WARNING, logger="arrears.pii.keys"):
        key = keys.require_key(settings)
    path = tmp_path / "data" / "pii.key"
    assert (path.stat().st_mode & 0o777) == 0o600
    assert keys.read_key_file(path) == key and len(key.key_id) == 8
    assert str(path) in caplog.text and "secret store" in caplog.text
    assert key.encoded() not in caplog.text and key.encoded() not in repr(settings)
    # The second run reads the same key.
    assert keys.require_key(settings) == key


def test_a_key_from_the_environment_must_be_base64_of_32_bytes(tmp_path, monkeypatch):
    key = PiiKey.generate()
    monkeypatch.setenv("ARREARS_PII_KEY", key.encoded())
    settings = load_settings(warehouse=tmp_path / "w.duckdb")
    assert keys.configured_key(settings) == key
    assert key.encoded() not in repr(settings) and key.encoded() not in str(settings)
    monkeypatch.setenv("ARREARS_PII_KEY", "c2hvcnQ=")
    with pytest.raises(ConfigError, match="32 bytes"):
        keys.configured_key(load_settings(warehouse=tmp_path / "w.duckdb"))


def test_sealed_rows_hold_no_clear_value_and_open_to_the_landed_ones(sealed):
    path, key = sealed
    con = duckdb.connect(str(path), read_only=True)
    stored = con.execute(
        "select full_name, national_id, phone, email, address, postal_code, city, pii_key_id "
        "from raw.customers"
    ).fetchall()
    con.close()
    assert stored == [(None,) * 6 + ("Shanghai", key.key_id)] * 2
    assert opened(path, key) == CLEAR
    con = duckdb.connect(str(path), read_only=True)
    text = repr(con.execute("select * from raw.customers").fetchall())
    con.close()
    for row in CLEAR:
        for value in row[1:]:
            if value:
                assert value not in text


def test_a_record_moved_to_another_customer_does_not_open():
    key = PiiKey.generate()
    frame = pl.DataFrame(
        {c: [v] for c, v in zip(("customer_id", *sealing.PERSONAL), CLEAR[0], strict=True)}
    )
    blob = sealing.seal_frame(frame, key)["pii"].to_list()
    assert sealing.open_records(blob, ["C1"], key)["phone"] == ["+8613800000001"]
    with pytest.raises(InvalidTag):
        sealing.open_records(blob, ["C2"], key)
    with pytest.raises(InvalidTag):
        sealing.open_records(blob, ["C1"], PiiKey.generate())


def test_a_night_carries_the_unchanged_sealed_records_and_seals_only_the_changed(
    sealed, monkeypatch
):
    path, key = sealed
    encrypted: list[str] = []
    seal = sealing._seal

    def counted(records, nonces, customer_ids, key):
        encrypted.extend(customer_ids)
        return seal(records, nonces, customer_ids, key)

    monkeypatch.setattr(sealing, "_seal", counted)
    after = date(2025, 7, 1)
    con = warehouse.connect(path)
    try:
        con.execute("create schema if not exists work")
        con.execute("create or replace table work.customers as from raw.customers limit 0")
        insert_clear(con, "work.customers")
        con.execute(
            "update work.customers set snapshot_date = $d, phone = $p where customer_id = 'C2'",
            {"d": after, "p": "13900000009"},
        )
        con.execute("update work.customers set snapshot_date = $d", {"d": after})
        with warehouse.transaction(con):
            assert sealing.seal_table(con, "work.customers", key) == 2
        tonight = dict(con.execute("select customer_id, pii from work.customers").fetchall())
        before = dict(con.execute("select customer_id, pii from raw.customers").fetchall())
    finally:
        con.close()
    assert encrypted == ["C2"]
    assert tonight["C1"] == before["C1"]
    assert tonight["C2"] != before["C2"]
    # What a fresh seal gives, byte for byte, and the changed record opens to the new value.
    fresh = pl.DataFrame(
        {c: [v] for c, v in zip(("customer_id", *sealing.PERSONAL), CLEAR[0], strict=True)}
    )
    assert sealing.seal_frame(fresh, key)["pii"].to_list() == [tonight["C1"]]
    assert sealing.open_records([tonight["C2"]], ["C2"], key)["phone"] == ["13900000009"]
    # Under another key nothing is carried: the records are sealed again.
    assert sealing.seal_frame(fresh, PiiKey.generate())["pii"].to_list() != [tonight["C1"]]


@pytest.mark.parametrize("given", ["missing", "wrong"])
def test_a_missing_or_wrong_key_stops_with_exit_2_and_changes_nothing(sealed, given, monkeypatch):
    path, _key = sealed
    key_file = path.parent / "pii.key"
    if given == "missing":
        key_file.unlink()
    else:
        monkeypatch.setenv("ARREARS_PII_KEY_FILE", str(path.parent / "other.key"))
        keys.write_key_file(path.parent / "other.key", PiiKey.generate())
    before = path.read_bytes()
    settings = load_settings(warehouse=path)

    with pytest.raises(ConfigError, match="nothing was read or written") as info:
        keys.require_key(settings)
    assert info.value.exit_code == 2
    assert main(["rotate-key", "--warehouse", str(path)]) == 2
    assert path.read_bytes() == before
    assert not key_file.exists() if given == "missing" else True


def test_a_clear_warehouse_is_sealed_in_place_by_the_upgrade(tmp_path):
    path = tmp_path / "arrears.duckdb"
    shutil.copy(FIXTURE, path)
    con = duckdb.connect(str(path))
    insert_clear(con)
    con.close()

    warehouse.connect(path).close()

    key = keys.read_key_file(tmp_path / "pii.key")
    assert key is not None
    assert opened(path, key) == CLEAR
    con = duckdb.connect(str(path), read_only=True)
    text = repr(con.execute("select * from raw.customers").fetchall())
    con.close()
    assert "110101199003071234" not in text and "+8613800000001" not in text


def test_rotate_key_reseals_every_row_under_a_new_key(sealed):
    path, old = sealed
    assert main(["rotate-key", "--warehouse", str(path)]) == 0
    new = keys.read_key_file(path.parent / "pii.key")
    assert new is not None and new.key_id != old.key_id
    assert opened(path, new) == CLEAR
    with pytest.raises(InvalidTag):
        opened(path, old)
    assert not (path.parent / "pii.key.new").exists()


ROTATE = textwrap.dedent(
    """
    import sys
    from arrears.cli import main
    sys.exit(main(["rotate-key", "--warehouse", sys.argv[1]]))
    """
)


def rotate_killed_at(path: Path, point: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARREARS_")}
    env["ARREARS_FAILPOINT"] = point
    done = subprocess.run([sys.executable, "-c", ROTATE, str(path)], env=env, timeout=120)
    assert done.returncode == -9


def test_a_rotation_killed_before_its_commit_leaves_the_old_key_working(sealed):
    path, old = sealed
    rotate_killed_at(path, "rotate-key:before-commit")
    assert keys.read_key_file(path.parent / "pii.key") == old
    assert keys.require_key(load_settings(warehouse=path)) == old
    assert opened(path, old) == CLEAR


def test_a_rotation_killed_after_its_commit_is_completed_by_the_next_run(sealed):
    path, old = sealed
    pending = path.parent / "pii.key.new"
    rotate_killed_at(path, "rotate-key:after-commit")
    new = keys.read_key_file(pending)
    assert new is not None and keys.read_key_file(path.parent / "pii.key") == old

    assert keys.require_key(load_settings(warehouse=path)) == new
    assert keys.read_key_file(path.parent / "pii.key") == new and not pending.exists()
    assert opened(path, new) == CLEAR
