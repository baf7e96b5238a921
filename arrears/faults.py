"""Failpoints: named places where a test can kill the running process, for real, or fill its
disk.

`checkpoint(name)` does nothing unless the environment variable ARREARS_FAILPOINT equals
`name`; then the process sends itself SIGKILL. Nothing runs after that: no `finally`, no
rollback, no atexit, no flushed buffers; exactly what a power cut or the OOM killer leaves.
The reliability tests use it to stop a real run at a step boundary or inside a write and
then check that a rerun restores the state an uninterrupted run would have produced.

With ARREARS_FAILPOINT_ACTION=enospc the point raises OSError(ENOSPC) instead, and the disk
stays full for the rest of the process: every later checkpoint raises it too, among them the
writes of ops.runs (`runs:start`, `runs:record`, `runs:finish`), as a real full disk would
refuse them. `reset()` frees the disk again (for tests that run several flows in one process).

Names in use (docs/reliability.md lists what each one proved):
  flow:after-<step>              flows/daily_collections.py, after each step
  commit:after:<table>           arrears/commit.py, inside the transaction, after that table
  publish:before-swap            arrears/publish/outbox.py, the set complete, not yet visible
  publish:exchanged              arrears/publish/folders.py, new set visible, old one not removed
  rotate-key:before-commit       arrears/pii/rotation.py, every row re-sealed, not committed
  rotate-key:after-commit        arrears/pii/rotation.py, committed, new key file not in place
  postgres:before-commit         arrears/publish/postgres_sink.py, all rows written, not committed
  cancel:after-read, cancel:after-commit
                                 flows/cancel_actions.py, after reading the payments and after
                                 committing marts.cancelled_actions
  cancel:before-swap             arrears/publish/cancel.py, the cancel set complete, not yet visible
  postgres:cancel-before-commit  arrears/publish/postgres_sink.py, cancellations written, not
                                 committed
  archive:tmp-written            arrears/archive.py, a snapshot's file flushed as .tmp, not renamed
  archive:renamed                arrears/archive.py, the file under its final name, rows in raw.*
  housekeeping:outbox-hidden     arrears/housekeeping.py, an expired outbox folder hidden
  housekeeping:before-commit     arrears/housekeeping.py, the retention transaction not committed
  housekeeping:after-commit      arrears/housekeeping.py, committed, hidden folders not removed
  runs:start, runs:record, runs:finish   arrears/runs.py, before each write of ops.runs
"""

from __future__ import annotations

import errno
import os
import signal

# Read here, not through Settings: no run is configured with it; only the reliability tests set
# it, in the environment of the process they mean to kill.
ENV = "ARREARS_FAILPOINT"
ACTION_ENV = "ARREARS_FAILPOINT_ACTION"
ENOSPC = "enospc"

_disk_full = False


def checkpoint(name: str) -> None:
    """Kill this process with SIGKILL when ARREARS_FAILPOINT names this point, or raise
    ENOSPC from here on when ARREARS_FAILPOINT_ACTION=enospc."""
    global _disk_full
    if _disk_full:
        raise _no_space(name)
    if os.environ.get(ENV) == name:
        if os.environ.get(ACTION_ENV) == ENOSPC:
            _disk_full = True
            raise _no_space(name)
        os.kill(os.getpid(), signal.SIGKILL)


def reset() -> None:
    """Free the injected full disk."""
    global _disk_full
    _disk_full = False


def _no_space(name: str) -> OSError:
    return OSError(errno.ENOSPC, f"No space left on device (injected at {name})")
