"""Retry only what can succeed on a second try: I/O that failed for a transient reason."""

from __future__ import annotations

from prefect import Task
from prefect.client.schemas.objects import State, TaskRun

from arrears.errors import ArrearsError


def transient_only(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry on OS and connection errors; never on rejected input or configuration."""
    try:
        state.result()
    except ArrearsError:
        return False
    except (OSError, ConnectionError, TimeoutError):
        return True
    except Exception:
        return False
    return False
