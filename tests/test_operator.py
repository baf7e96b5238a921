"""What an operator sees in Prefect: run names from the date, the run summary with the final
status, a link to the report, an artifact that says how to rerun a failed night, a form
without the settings object, a timeout per flow."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from arrears.generate import generate_landing
from arrears.settings import Settings

pytestmark = pytest.mark.integration

DAY = date(2025, 6, 1)


def artifacts(flow_run_id, key: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[key]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
            )
        )


def flow_run(flow_run_id):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


@pytest.fixture(scope="module")
def nights(prefect_harness, tmp_path_factory) -> dict[str, object]:
    """One good night with a report URL, then the same date from a landing folder whose loans
    file is broken (REJECTED)."""
    from flows.daily_collections import daily_collections

    root = tmp_path_factory.mktemp("operator")
    generate_landing(root / "landing", DAY, 1, loans=150, seed=5)
    settings = Settings(
        landing=root / "landing",
        warehouse=root / "data" / "arrears.duckdb",
        outbox=root / "outbox",
        reports=root / "reports",
        report_url="https://reports.example/arrears/",
    )
    good = daily_collections(snapshot_date=DAY, settings=settings, return_state=True)
    broken = root / "broken" / DAY.isoformat()
    broken.mkdir(parents=True)
    for path in (settings.landing / DAY.isoformat()).iterdir():
        if path.is_file():
            (broken / path.name).write_bytes(path.read_bytes())
    loans = broken / "loans.csv"
    lines = loans.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(lines[1].split(",")[5], "2025-13-45", 1)
    loans.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = settings.model_copy(update={"landing": broken.parent})
    rejected = daily_collections(snapshot_date=DAY, settings=bad, return_state=True)
    return {"good": good, "rejected": rejected, "settings": settings}


def test_a_run_is_named_after_its_snapshot_date(nights):
    good, rejected = nights["good"], nights["rejected"]
    assert good.is_completed() and rejected.is_failed()
    for state in (good, rejected):
        assert flow_run(state.state_details.flow_run_id).name == f"daily-{DAY}"


def test_the_run_summary_shows_the_final_status(nights):
    run_id = nights["good"].state_details.flow_run_id
    (summary,) = artifacts(run_id, "run-summary")
    assert "**SUCCEEDED**" in summary.data
    assert "RUNNING" not in summary.data


def test_the_report_is_linked_under_the_report_url(nights):
    run_id = nights["good"].state_details.flow_run_id
    (link,) = artifacts(run_id, "report")
    assert f"https://reports.example/arrears/{DAY}/report.html" in link.data
    assert (nights["settings"].reports / DAY.isoformat() / "report.html").exists()


def test_a_failed_run_leaves_the_operator_an_artifact_with_the_command(nights):
    run_id = nights["rejected"].state_details.flow_run_id
    assert not artifacts(run_id, "run-summary")
    (failure,) = artifacts(run_id, "run-failure")
    text = failure.data
    assert "ops.runs status: **REJECTED**" in text
    assert "loans.csv" in text and "origination_date" in text
    assert f"arrears run --date {DAY}" in text
    assert f"--param snapshot_date={DAY}" in text
    assert "\n" not in failure.description
    # the state message on one line: Prefect's UI shows no literal \n
    message = flow_run(run_id).state.message
    assert "InputRejected: " in message and "origination_date" in message
    assert "\n" not in message


def test_rerun_commands_per_flow_and_status():
    from flows import operator

    day = {"snapshot_date": "2025-06-03"}
    assert operator.rerun_commands("daily_collections", day, "PUBLISHED_SINK_FAILED") == [
        "arrears sink --date 2025-06-03"
    ]
    assert operator.rerun_commands("daily_collections", day, "FAILED")[0] == (
        "arrears run --date 2025-06-03"
    )
    cancel = operator.rerun_commands("cancel_actions", {"action_date": date(2025, 6, 4)}, None)
    assert cancel == ["arrears cancel --date 2025-06-04"]
    backfill = operator.rerun_commands(
        "backfill_collections", {"start": "2025-06-01", "end": "2025-06-09"}, None
    )
    assert backfill[0] == "arrears backfill --from <the failed date> --to 2025-06-09"


def test_the_custom_run_forms_have_no_settings_object():
    from prefect.utilities.callables import parameter_schema

    from flows.backfill import backfill_collections
    from flows.cancel_actions import cancel_actions
    from flows.daily_collections import daily_collections

    forms = {
        f.name: set(parameter_schema(f.fn).properties)
        for f in (daily_collections, backfill_collections, cancel_actions)
    }
    assert forms == {
        "daily_collections": {"snapshot_date"},
        "backfill_collections": {"start", "end"},
        "cancel_actions": {"action_date"},
    }


def test_every_flow_has_a_timeout_the_environment_changes(monkeypatch):
    from flows import operator
    from flows.backfill import backfill_collections
    from flows.cancel_actions import cancel_actions
    from flows.daily_collections import daily_collections

    assert daily_collections.timeout_seconds == 4 * 3600
    assert backfill_collections.timeout_seconds == 48 * 3600
    assert cancel_actions.timeout_seconds == 25 * 60
    monkeypatch.setenv("ARREARS_RUN_TIMEOUT_SECONDS", "900")
    assert operator.timeout("ARREARS_RUN_TIMEOUT_SECONDS") == 900
    # the command line validates it like every setting: exit 2 before anything runs
    monkeypatch.setenv("ARREARS_RUN_TIMEOUT_SECONDS", "-1")
    from arrears.cli import main

    assert main(["run", "--date", "2025-06-01", "--warehouse", "/nonexistent/x.duckdb"]) == 2


def test_a_report_url_must_be_absolute(tmp_path: Path):
    from arrears.errors import ConfigError
    from arrears.settings import load_settings

    with pytest.raises(ConfigError, match="report_url"):
        load_settings(report_url="reports.example/arrears")
    settings = Settings(reports=tmp_path / "r", report_url="https://h/x")
    assert settings.report_link(tmp_path / "r" / "2025-06-01" / "report.html") == (
        "https://h/x/2025-06-01/report.html"
    )
    assert Settings(reports=tmp_path).report_link(tmp_path / "a.html") is None
    with pytest.raises(ConfigError, match="outbox_url"):
        load_settings(outbox_url="/srv/outbox")
    served = Settings(outbox_url="https://h/outbox/")
    assert served.manifest_link(date(2025, 6, 2)) == "https://h/outbox/2025-06-02/_manifest.json"
    assert Settings().manifest_link(date(2025, 6, 2)) is None


def test_failure_texts_are_one_line_and_withhold_personal_data():
    """The state message and the run-failure artifact: no phone or id number, no secret."""
    from arrears.errors import InputRejected
    from flows import operator

    exc = InputRejected(
        "customers.csv",
        "column phone: not a phone number (1 row)",
        1,
        examples=["key CU1: 'x13912345678'"],
    )
    state = operator.failed(exc)
    assert "\n" not in state.message
    assert "13912345678" not in state.message and "withheld" in state.message
    text = operator.failure_markdown(
        "daily_collections",
        "daily-2025-06-01",
        {"snapshot_date": "2025-06-01", "settings": {"postgres": "postgresql://u:pw@h/db"}},
        "Failed",
        state.message,
        "REJECTED",
    )
    assert "pw@" not in text and "settings" not in text
