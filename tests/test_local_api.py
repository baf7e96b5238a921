"""The command line's own Prefect API: what it changes in Prefect's settings, and when."""

from __future__ import annotations

import contextlib

import pytest
from prefect.settings import get_current_settings

from arrears import local_api


@pytest.fixture
def scope(monkeypatch):
    stack = contextlib.ExitStack()
    monkeypatch.setattr(local_api, "_settings_scope", stack)
    yield stack
    stack.close()


def test_a_process_with_its_own_api_sends_no_heartbeats(monkeypatch, scope):
    """Nothing reads heartbeats sent to an API that ends with the process, and Prefect joins
    their thread at each flow's end on a whole-second sleep."""
    default = get_current_settings().flows.heartbeat_frequency
    assert default is not None
    monkeypatch.setattr(local_api, "_started", [object()])
    local_api.without_heartbeats()
    local_api.without_heartbeats()  # once is enough; a second call changes nothing
    assert get_current_settings().flows.heartbeat_frequency is None
    scope.close()
    assert get_current_settings().flows.heartbeat_frequency == default


def test_a_configured_server_keeps_its_heartbeats(monkeypatch, scope):
    monkeypatch.setattr(local_api, "_started", [])
    assert not local_api.started()
    local_api.without_heartbeats()
    assert get_current_settings().flows.heartbeat_frequency is not None


def test_the_local_api_starts_only_where_no_server_is_configured(monkeypatch, tmp_path):
    """configured() as a fresh `arrears` process sees it (Prefect not imported yet)."""
    import sys

    monkeypatch.delitem(sys.modules, "prefect")
    monkeypatch.chdir(tmp_path)
    for name in (
        "PREFECT_API_URL",
        "PREFECT_SERVER_EPHEMERAL_ENABLED",
        "PREFECT_PROFILE",
        "PREFECT_PROFILES_PATH",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    assert not local_api.configured()
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert local_api.configured()
    monkeypatch.delenv("PREFECT_API_URL")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "profiles.toml").write_text(
        'active = "ops"\n[profiles.ops]\nPREFECT_API_URL = "http://10.0.0.5:4200/api"\n',
        encoding="utf-8",
    )
    assert local_api.configured()
