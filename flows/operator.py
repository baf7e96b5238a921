"""What an operator sees of a flow run in Prefect: a name that says which date it processed, a
time limit, a form without the settings object, and on failure an artifact that says what
failed and the command that runs it again (docs/operating.md, "Watching the nights").

Imported by the flow modules after arrears.prefect_env.configure().
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic.json_schema import SkipJsonSchema

from arrears.errors import ArrearsError
from arrears.personal import mask
from arrears.redact import redact
from arrears.settings import Settings

# The flows' `settings` parameter: the CLI passes the Settings its options make; a deployment
# run takes them from the worker's ARREARS_* environment, so the custom-run form leaves it out.
SettingsParameter = SkipJsonSchema[Settings | None]

# Seconds a flow run may take before Prefect stops it (TimedOut, a failed state the
# automations see); the environment variable of the same name changes it. Read at import:
# Prefect takes a flow's timeout from its decorator.
TIMEOUT_DEFAULTS = {
    "ARREARS_RUN_TIMEOUT_SECONDS": 4 * 3600,
    "ARREARS_BACKFILL_TIMEOUT_SECONDS": 48 * 3600,
    "ARREARS_CANCEL_TIMEOUT_SECONDS": 25 * 60,
}


def timeout(variable: str) -> float:
    """The flow's timeout; a value Settings would refuse falls back to the default here (the
    command line refuses it with exit 2 before any flow starts)."""
    try:
        seconds = float(os.environ.get(variable, TIMEOUT_DEFAULTS[variable]))
    except ValueError:
        return float(TIMEOUT_DEFAULTS[variable])
    return seconds if seconds > 0 else float(TIMEOUT_DEFAULTS[variable])


def _lender_today() -> date:
    return datetime.now(ZoneInfo(os.environ.get("ARREARS_TIMEZONE") or "Asia/Shanghai")).date()


def _parameter(name: str) -> str | None:
    from prefect.runtime import flow_run

    value = flow_run.parameters.get(name)
    return None if value is None else str(value)[:10]


def daily_run_name() -> str:
    """`daily-2025-06-03`: the snapshot date (yesterday in the lender's zone when not given)."""
    day = _parameter("snapshot_date") or (_lender_today() - timedelta(days=1)).isoformat()
    return f"daily-{day}"


def backfill_run_name() -> str:
    return f"backfill-{_parameter('start')}-to-{_parameter('end')}"


def cancel_run_name() -> str:
    """`cancel-2025-06-04`: the action date (today in the lender's zone when not given)."""
    return f"cancel-{_parameter('action_date') or _lender_today().isoformat()}"


def one_line(text: str) -> str:
    """A message as one line (Prefect shows state messages and tables without line breaks)."""
    return " | ".join(part.strip() for part in str(text).splitlines() if part.strip())


def rerun_commands(flow_name: str, parameters: dict[str, Any], status: str | None) -> list[str]:
    """The commands that run the failed work again, as an operator types them."""

    def day(name: str) -> str:
        value = parameters.get(name)
        return str(value)[:10] if value is not None else "YYYY-MM-DD"

    if flow_name == "daily_collections":
        snapshot = day("snapshot_date")
        if status == "PUBLISHED_SINK_FAILED":
            # The files are live: only the sink is missing.
            return [f"arrears sink --date {snapshot}"]
        return [
            f"arrears run --date {snapshot}",
            f"prefect deployment run daily_collections/daily --param snapshot_date={snapshot}",
        ]
    if flow_name == "backfill_collections":
        first, last = day("start"), day("end")
        return [
            f"arrears backfill --from <the failed date> --to {last}",
            "prefect deployment run backfill_collections/backfill "
            f"--param start=<the failed date> --param end={last}",
            f"(the range was {first} .. {last}; the run's log names the failed date)",
        ]
    if flow_name == "cancel_actions":
        return [f"arrears cancel --date {day('action_date')}"]
    return []


# Final ops.runs status of flow runs of this process that stopped on a failure, by flow run id:
# the failure hook runs after the flow function has returned and reads it from here.
_stopped: dict[str, str] = {}


def note_stopped(flow_run_id: Any, status: str) -> None:
    if flow_run_id is not None:
        _stopped[str(flow_run_id)] = status


def failure_markdown(
    flow_name: str,
    run_name: str,
    parameters: dict[str, Any],
    state_name: str,
    message: str,
    status: str | None,
) -> str:
    shown = {k: str(v)[:10] for k, v in parameters.items() if k != "settings" and v is not None}
    lines = [
        f"# {flow_name} {state_name}: {run_name}",
        "",
        "Parameters: " + (", ".join(f"`{k}={v}`" for k, v in shown.items()) or "defaults"),
    ]
    if status:
        lines.append(f"ops.runs status: **{status}**")
    lines += ["", "## What failed", "", "```", message or "(no message)", "```", ""]
    commands = rerun_commands(flow_name, parameters, status)
    if commands:
        lines += ["## Run it again (after fixing the cause)", "", "```"] + commands + ["```"]
    return "\n".join(lines)


def on_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect hook for Failed and Crashed runs: the operator artifact `run-failure`."""
    from prefect.artifacts import create_markdown_artifact

    message = mask(redact(state.message or ""))
    status = _stopped.pop(str(flow_run.id), None)
    parameters = dict(flow_run.parameters or {})
    create_markdown_artifact(
        key="run-failure",
        markdown=failure_markdown(
            flow.name, flow_run.name, parameters, state.name, message, status
        ),
        description=one_line(f"{flow.name} {flow_run.name} {state.name}: {message}")[:500],
    )


def failed(exc: ArrearsError) -> Any:
    """The Failed state a flow returns for a failure it explains itself: Prefect shows its
    message on one line (its own would keep the line breaks of a rejection's examples); the
    caller still gets `exc` raised, and the hooks and automations see a Failed run."""
    from prefect.states import Failed

    text = one_line(f"{type(exc).__name__}: {mask(redact(str(exc)))}")
    return Failed(message=text, data=exc)
