"""ARREARS_MEMORY_LIMIT caps DuckDB's memory; a value DuckDB cannot read is refused up front."""

from __future__ import annotations

import pytest

from arrears import warehouse
from arrears.errors import ConfigError
from arrears.settings import load_settings


def _limit_mib(con) -> float:
    text = warehouse.scalar(con, "select current_setting('memory_limit')")
    number, unit = text.split()
    return float(number) * {"MiB": 1, "GiB": 1024, "KiB": 1 / 1024}[unit]


def test_memory_limit_is_applied(monkeypatch, tmp_path):
    monkeypatch.setenv("ARREARS_MEMORY_LIMIT", "700MB")
    settings = load_settings(warehouse=tmp_path / "w.duckdb")
    with settings.open_warehouse() as con:
        assert 600 < _limit_mib(con) < 700


def test_memory_limit_as_a_share_of_the_ram(monkeypatch, tmp_path):
    monkeypatch.setenv("ARREARS_MEMORY_LIMIT", "10%")
    con = warehouse.connect(tmp_path / "w.duckdb", memory_limit=load_settings().memory_limit)
    try:
        expected = warehouse._ram_bytes() / 10 / 2**20
        # DuckDB shows the setting rounded to one decimal of its unit (2.3 GiB).
        assert _limit_mib(con) == pytest.approx(expected, rel=0.05)
    finally:
        con.close()


@pytest.mark.parametrize("value", ["lots", "12 parsecs", "0%", "150%"])
def test_unreadable_memory_limit_is_a_config_error(monkeypatch, tmp_path, value):
    monkeypatch.setenv("ARREARS_MEMORY_LIMIT", value)
    with pytest.raises(ConfigError, match="ARREARS_MEMORY_LIMIT"):
        load_settings()


@pytest.mark.parametrize("value", ["lots", "0%"])
def test_a_limit_given_to_connect_is_checked_the_same_way(tmp_path, value):
    with pytest.raises(ConfigError, match="ARREARS_MEMORY_LIMIT"):
        warehouse.connect(tmp_path / "w.duckdb", memory_limit=value)


def test_without_settings_duckdb_keeps_its_default(monkeypatch, tmp_path):
    default = warehouse.connect(":memory:")
    monkeypatch.setenv("ARREARS_MEMORY_LIMIT", "700MB")
    con = warehouse.connect(tmp_path / "w.duckdb")
    try:
        assert _limit_mib(con) == _limit_mib(default)
    finally:
        con.close()
        default.close()


def test_memory_at_most_caps_for_the_block_and_restores_the_limit():
    con = warehouse.connect(":memory:")
    try:
        default = warehouse.scalar(con, "select current_setting('memory_limit')")
        with warehouse.memory_at_most(con, 512 * 2**20):
            assert _limit_mib(con) == 512
            assert warehouse.memory_limit_bytes(con) == 512 * 2**20
        assert warehouse.scalar(con, "select current_setting('memory_limit')") == default
        con.execute("set memory_limit = '3GiB'")
        with warehouse.memory_at_most(con, 512 * 2**20):
            assert _limit_mib(con) == 512
        assert _limit_mib(con) == 3072
        # a lower limit already set is kept
        con.execute("set memory_limit = '100MiB'")
        with warehouse.memory_at_most(con, 512 * 2**20):
            assert _limit_mib(con) == 100
        assert _limit_mib(con) == 100
    finally:
        con.close()
