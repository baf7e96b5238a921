"""What a PostgreSQL session is waiting for, and who holds it: the sink's wait log and the
message of a lock or statement timeout.

While the sink's transaction runs, a watcher thread looks at the sink's backend every poll
(from its own connection, opened only once the transaction has run for a moment): when the
backend waits on a lock it logs a line naming the sessions that block it (pg_blocking_pids:
pid, state such as `idle in transaction` and for how long, user, application), again every
LOG_EVERY_SECONDS, and keeps the last sighting for the error raised when lock_timeout ends
the wait. The blockers' query text is never shown: another application's statement may carry
any value.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import psycopg

logger = logging.getLogger(__name__)

# First look after this long, then a log line at most this often while the wait lasts.
FIRST_LOOK_SECONDS = 1.0
LOG_EVERY_SECONDS = 30.0

BLOCKERS_SQL = """
select
    blocker.pid,
    coalesce(blocker.state, 'unknown') as state,
    extract(epoch from now() - coalesce(blocker.state_change, blocker.backend_start))::bigint
        as state_seconds,
    extract(epoch from now() - blocker.xact_start)::bigint as transaction_seconds,
    coalesce(blocker.usename, '') as usename,
    coalesce(blocker.application_name, '') as application_name,
    coalesce((
        select string_agg(distinct
            locks.mode || coalesce(' on ' || locks.relation::regclass::text,
                ' (' || locks.locktype || ')'), ', ')
        from pg_locks as locks
        where locks.pid = waiting.pid and not locks.granted
    ), '') as waiting_for
from pg_stat_activity as waiting
cross join lateral unnest(pg_blocking_pids(waiting.pid)) as blocking(pid)
inner join pg_stat_activity as blocker
    on blocker.pid = blocking.pid
where waiting.pid = %(pid)s
order by blocker.pid
"""


@dataclass(frozen=True)
class Blocker:
    pid: int
    state: str
    state_seconds: int
    transaction_seconds: int | None
    user: str
    application: str
    waiting_for: str

    def describe(self) -> str:
        held = f"{self.state} for {self.state_seconds} s"
        if self.transaction_seconds is not None:
            held += f", transaction open {self.transaction_seconds} s"
        who = f"user {self.user}"
        if self.application:
            who += f", application {self.application!r}"
        return f"pid {self.pid} ({held}; {who})"


def blockers(pg: psycopg.Connection[Any], pid: int) -> list[Blocker]:
    """The sessions that block backend `pid`, as PostgreSQL sees them now."""
    rows = pg.execute(BLOCKERS_SQL, {"pid": pid}).fetchall()
    return [Blocker(*row) for row in rows]


def describe(found: list[Blocker]) -> str:
    if not found:
        return "no blocking session seen"
    what = found[0].waiting_for or "a lock"
    return f"waiting for {what} held by " + "; ".join(b.describe() for b in found)


class WaitWatcher:
    """Watches backend `pid` from a second connection while the sink's transaction runs."""

    def __init__(
        self,
        connect: Any,
        pid: int,
        poll_seconds: float,
        label: str,
        log: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    ) -> None:
        self._connect = connect
        self._pid = pid
        self._poll = poll_seconds
        self._label = label
        self._log = log or logger
        self._stop = threading.Event()
        # The caller's context (a Prefect task run's) goes along, so its log lines reach it.
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._run,), name="postgres-wait", daemon=True
        )
        self.last_seen: list[Blocker] = []

    def __enter__(self) -> WaitWatcher:
        self._began = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        if self._stop.wait(min(FIRST_LOOK_SECONDS, self._poll)):
            return
        try:
            pg = self._connect()
        except psycopg.Error as exc:
            self._log.warning(
                "%s: cannot watch for lock waits (%s)", self._label, type(exc).__name__
            )
            return
        logged_at: float | None = None
        try:
            while not self._stop.is_set():
                try:
                    found = blockers(pg, self._pid)
                except psycopg.Error:
                    return
                if found:
                    self.last_seen = found
                    now = time.monotonic()
                    if logged_at is None or now - logged_at >= LOG_EVERY_SECONDS:
                        logged_at = now
                        self._log.warning(
                            "%s: waiting %.0f s on PostgreSQL, %s",
                            self._label,
                            now - self._began,
                            describe(found),
                        )
                if self._stop.wait(self._poll):
                    return
        finally:
            pg.close()
