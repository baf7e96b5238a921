"""Retry only what can succeed on a second try: I/O that failed for a transient reason."""

from __future__ import annotations

import errno

import psycopg
from prefect import Task
from prefect.client.schemas.objects import State, TaskRun

from arrears.errors import ArrearsError

TRANSIENT = (OSError, ConnectionError, TimeoutError, psycopg.OperationalError)
# A full disk or quota does not clear in seconds: retrying only delays the failure.
LASTING_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def transient_only(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry on OS, network and database-connection errors; never on rejected input."""
    try:
        state.result()
    except ArrearsError:
        return False
    except TRANSIENT as exc:
        return not (isinstance(exc, OSError) and exc.errno in LASTING_ERRNOS)
    except Exception:
        return False
    return False
