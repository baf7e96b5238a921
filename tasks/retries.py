"""Retry only what can succeed on a second try: I/O that failed for a transient reason."""

from __future__ import annotations

import psycopg
from prefect import Task
from prefect.client.schemas.objects import State, TaskRun

from arrears.errors import ArrearsError

TRANSIENT = (OSError, ConnectionError, TimeoutError, psycopg.OperationalError)


def transient_only(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry on OS, network and database-connection errors; never on rejected input."""
    try:
        state.result()
    except ArrearsError:
        return False
    except TRANSIENT:
        return True
    except Exception:
        return False
    return False
