"""Shared fixtures: clean settings env, the example landing folder, one Prefect harness."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from arrears.prefect_env import configure

configure()

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLE_LANDING = FIXTURES / "example-landing"
EXAMPLE_DATE = "2025-06-30"


@pytest.fixture(autouse=True)
def _clean_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's ARREARS_* variables must not change what a test sees."""
    for key in list(os.environ):
        if key.startswith("ARREARS_"):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture
def example_landing(tmp_path: Path) -> Path:
    """A writable copy of the contract's example landing folder (one date)."""
    target = tmp_path / "landing"
    shutil.copytree(EXAMPLE_LANDING / EXAMPLE_DATE, target / EXAMPLE_DATE)
    for path in (target / EXAMPLE_DATE).iterdir():
        path.chmod(0o644)
    return target


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect backend for the whole session (it costs ~15 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
