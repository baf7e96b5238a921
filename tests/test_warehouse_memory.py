"""ARREARS_MEMORY_LIMIT caps DuckDB's memory; a value DuckDB cannot read is refused up front."""

from __future__ import annotations

import pytest

from arrears import warehouse
from arrears.errors import ConfigError


def _limit_mib(con) -> float:
    text = warehouse.scalar(con, "select current_setting('memory_limit')")
    number, unit = text.split()
    return float(number) * {"MiB": 1, "GiB": 1024, "KiB": 1 / 1024}[unit]


def test_memory_limit_is_applied(monkeypatch, tmp_path):
    monkeypatch.setenv("ARREARS_MEMORY_LIMIT", "700MB")
    con = warehouse.connect(tmp_path / "w.duckdb")
    try:
        assert 600 < _limit_mib(con) < 700
    finally:
        con.close()


def test_memory_limit_as_a_share_of_the_ram(monkeypatch, tmp_path):
    monkeypatch.setenv("ARREARS_MEMORY_LIMIT", "10%")
    con = warehouse.connect(tmp_path / "w.duckdb")
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
        warehouse.connect(tmp_path / "w.duckdb")
