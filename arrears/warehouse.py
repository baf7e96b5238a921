"""The DuckDB warehouse: opening it, its schema, running SQL files, and replacing partitions.

Schemas:
  raw      what landed, typed, keyed by snapshot_date
  work     the candidate results of the run in progress (scratch, replaced every run); for a
           warehouse file, kept in a scratch file of its own (see attach_work)
  quality  validation runs and quarantined rows
  marts    published results, one partition per snapshot or action date
  ops      runs and the schema version
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb

from arrears import migrations, redact
from arrears.contract import DATASETS, find_dataset
from arrears.errors import ArrearsError, ConfigError, RunLocked
from arrears.sqlfiles import bind, sql_root, sql_text

SCHEMA_VERSION = migrations.LATEST
# DuckDB lets one process write a file, and no other process open it meanwhile (not even to
# read); a connect that meets another process's lock retries this often until its deadline.
_FILE_LOCK_RETRY_SECONDS = 0.25
_HOLDER = re.compile(r"held in ([^\n]*?)\s*\(PID (\d+)\)")
SCHEMAS = ("raw", "work", "quality", "marts", "ops")
# The catalog under which a warehouse file's scratch file is attached (attach_work).
WORK_CATALOG = "arrears_work"


def raw_table_ddl(dataset: str) -> str:
    columns = ",\n    ".join(f"{c.name} {c.sql_type}" for c in find_dataset(dataset).columns)
    return (
        f"create table if not exists raw.{dataset} (\n"
        f"    snapshot_date DATE not null,\n    {columns}\n)"
    )


def work_table_ddl(dataset: str) -> str:
    return (
        raw_table_ddl(dataset)
        .replace("raw.", "work.", 1)
        .replace("create table if not exists", "create or replace table", 1)
    )


def connect(
    path: Path | str,
    *,
    read_only: bool = False,
    wait_seconds: float | None = None,
    memory_limit: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, creating and migrating its schema when writable.

    While another process has the file open (a run, or a reader such as a notebook), DuckDB
    refuses the open; it is retried for `wait_seconds` (None: 600 s, the default of the
    lock_timeout_seconds setting), then RunLocked names the process that holds it.
    `memory_limit` caps DuckDB's memory (see limit_memory); None leaves DuckDB's default.
    """
    path = Path(path)
    if str(path) != ":memory:" and not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = _open_waiting(path, read_only, wait_seconds)
    try:
        limit_memory(con, memory_limit)
        if read_only:
            migrations.refuse_newer(con)
        else:
            if str(path) != ":memory:":
                attach_work(con, work_path(path))
            ensure_schema(con)
    except BaseException:
        con.close()
        raise
    return con


def limit_memory(con: duckdb.DuckDBPyConnection, limit: str | None) -> None:
    """Cap DuckDB's memory at `limit`: a size ('12GB', '8000MB') or a share of this machine's
    RAM ('60%'); past it, DuckDB spills to disk beside the warehouse instead of growing.
    None or blank: DuckDB's default, 80% of the RAM. The memory_limit setting (from
    ARREARS_MEMORY_LIMIT) is checked with this when the settings are built."""
    limit = (limit or "").strip()
    if not limit:
        return
    if limit.endswith("%"):
        share = limit[:-1].strip()
        if not share.replace(".", "", 1).isdigit() or not 0 < float(share) <= 100:
            raise ConfigError(f"ARREARS_MEMORY_LIMIT={limit!r}: a share must be in (0, 100]%")
        # A share is of the RAM of the machine that opens the warehouse (a Dask worker's own).
        limit = f"{float(share) / 100 * _ram_bytes() / 2**20:.0f}MiB"
    try:
        con.execute(f"set memory_limit = '{limit.replace(chr(39), '')}'")
    except duckdb.Error as exc:
        raise ConfigError(
            f"ARREARS_MEMORY_LIMIT={limit!r} is not a size DuckDB reads ({exc}); "
            "use e.g. 12GB, 8000MB or 60%"
        ) from None


def _ram_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


_SIZE_UNITS = {
    "bytes": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}  # fmt: skip


def memory_limit_bytes(con: duckdb.DuckDBPyConnection) -> int:
    """DuckDB's memory_limit as it reports it ('19.2 GiB', '512.0 MiB'), in bytes."""
    text = str(scalar(con, "select current_setting('memory_limit')")).strip()
    found = re.fullmatch(r"([0-9.]+)\s*([A-Za-z]+)", text)
    if not found or found[2].lower() not in _SIZE_UNITS:
        raise ArrearsError(f"DuckDB reports a memory_limit of {text!r}")
    return int(float(found[1]) * _SIZE_UNITS[found[2].lower()])


@contextlib.contextmanager
def memory_at_most(con: duckdb.DuckDBPyConnection, limit_bytes: int) -> Iterator[None]:
    """DuckDB's memory capped at `limit_bytes` (or the lower limit already set) for the block:
    past it, sorts, joins and aggregates spill to disk beside the warehouse. The limit set
    before is restored after: DuckDB's default exactly; one set by memory_limit as DuckDB
    reports it, rounded to a tenth of its unit."""
    if memory_limit_bytes(con) <= limit_bytes:
        yield
        return
    before = scalar(con, "select current_setting('memory_limit')")
    con.execute("reset memory_limit")
    default = scalar(con, "select current_setting('memory_limit')")
    con.execute(f"set memory_limit = '{limit_bytes // 2**20}MiB'")
    try:
        yield
    finally:
        if before == default:
            con.execute("reset memory_limit")
        else:
            con.execute(f"set memory_limit = '{str(before).replace(chr(39), '')}'")


def _open_waiting(
    path: Path, read_only: bool, wait_seconds: float | None
) -> duckdb.DuckDBPyConnection:
    if wait_seconds is None:
        wait_seconds = 600.0
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "Could not set lock on file" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise RunLocked(
                    f"warehouse {path} is open in another process ({_describe(str(exc))}); "
                    f"waited {wait_seconds:.0f} s. DuckDB lets no other process open the file "
                    "while it is written, not even to read: close that process (readers can "
                    "query a copy of the file), then rerun; or raise ARREARS_LOCK_TIMEOUT_SECONDS."
                ) from None
            time.sleep(_FILE_LOCK_RETRY_SECONDS)


def _describe(message: str) -> str:
    """`PID n: <command line>` of the holder named in DuckDB's message, as far as known."""
    held = _HOLDER.search(message)
    if held is None:
        return "holder unknown"
    program, pid = held.groups()
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        raw = b""
    argv = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    # Another program's arguments may carry credentials (a DSN, a --password value): each
    # argument is masked on its own, before they are joined (a key=value DSN has blanks).
    command = " ".join(redact.redact_argv(argv)).strip() or redact.redact(program)
    return f"PID {pid}: {command[:200]}"


@contextlib.contextmanager
def opened(path: Path | str, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create what is missing, then migrate to SCHEMA_VERSION (arrears/migrations.py).

    A warehouse of a newer schema is refused (exit 2) before anything is written.
    """
    migrations.refuse_newer(con)
    separate = _work_file(con) is not None
    for schema in SCHEMAS:
        if schema == "work" and separate:
            continue  # in the scratch file (attach_work)
        con.execute(f"create schema if not exists {schema}")
    for dataset in DATASETS:
        con.execute(raw_table_ddl(dataset))
    for path in sorted((sql_root() / "schema").glob("*.sql")):
        # Schema files hold parameter-free DDL only, so executing them whole is safe.
        con.execute(path.read_text(encoding="utf-8"))
    recorded = migrations.recorded_version(con)
    if recorded is None or recorded < migrations.LATEST:
        # Some migrations fold the state: work.* and the marts in one transaction.
        with work_in_warehouse(con):
            migrations.migrate(con)


def work_path(warehouse: Path | str) -> Path:
    """The scratch file that holds the work schema of the warehouse file `warehouse`."""
    return Path(f"{warehouse}.work")


def attach_work(con: duckdb.DuckDBPyConnection, scratch: Path) -> None:
    """Keep the work schema in `scratch`, a DuckDB file beside the warehouse, not in it.

    work.customers holds the landed personal values in clear until the seal step, and every
    step opens its own connection: written into the warehouse file, they would stay in its
    freed blocks (DuckDB does not erase them) long after the run sealed and dropped them.
    In the scratch file they go with the file, which clear_work deletes at the start and the
    end of every run. `work.<table>` keeps its meaning through the connection's search path.
    """
    quoted = str(scratch).replace("'", "''")
    try:
        con.execute(f"attach if not exists '{quoted}' as {WORK_CATALOG}")
    except duckdb.Error:
        # Scratch only: a file a killed run left unreadable is started afresh.
        _delete_work_file(scratch)
        con.execute(f"attach if not exists '{quoted}' as {WORK_CATALOG}")
    with contextlib.suppress(OSError):  # a file of another owner keeps its mode
        scratch.chmod(0o600)  # it holds clear personal data: owner only
    con.execute(f"create schema if not exists {WORK_CATALOG}.work")
    # A work schema left in the warehouse file (by an earlier version) is scratch too.
    con.execute(f"drop schema if exists {_quoted(_main_catalog(con))}.work cascade")
    route_work(con)


@contextlib.contextmanager
def work_in_warehouse(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """work.* in the warehouse file itself for the block, empty at its start and dropped at its
    end; the scratch file is detached meanwhile (its tables are out of sight).

    A DuckDB transaction writes to one database only, and a few jobs write work.* and the marts
    in one transaction: the state fold of migrations and of `arrears rebuild-state`, and the
    real-data check. None of them reads the customers' personal columns.
    """
    scratch = _work_file(con)
    if scratch is None:
        yield
        return
    con.execute(f"detach {WORK_CATALOG}")
    con.execute("reset search_path")
    con.execute("drop schema if exists work cascade")
    con.execute("create schema work")
    try:
        yield
    finally:
        con.execute("drop schema if exists work cascade")
        attach_work(con, Path(scratch))


def route_work(con: duckdb.DuckDBPyConnection) -> None:
    """Resolve `work.<table>` to the scratch file on `con` (a search path is per connection:
    a cursor of a connection needs it again). Nothing to do when no scratch file is attached."""
    if _work_file(con) is None:
        return
    main = _quoted(_main_catalog(con)).replace("'", "''")
    con.execute(f"set search_path = '{main}.main,{WORK_CATALOG}.work'")


def outside_work(con: duckdb.DuckDBPyConnection, query: str, reads: Iterable[str]) -> str:
    """`query` for a view in work.*, with the relations it reads outside work.* named with
    the warehouse's catalog. DuckDB binds a view's names in the view's own catalog: in the
    scratch file, `marts.x` would not be found. `reads` are the registry's parse of the query."""
    if _work_file(con) is None:
        return query
    main = _quoted(_main_catalog(con))
    for relation in sorted(set(reads)):
        if relation.startswith("work."):
            continue
        # Not inside a longer name, nor already qualified.
        query = re.sub(rf'(?<![\w."]){re.escape(relation)}\b', f"{main}.{relation}", query)
    return query


def _work_file(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.execute(
        "select path from duckdb_databases() where database_name = $name",
        {"name": WORK_CATALOG},
    ).fetchall()
    return str(rows[0][0]) if rows else None


def _main_catalog(con: duckdb.DuckDBPyConnection) -> str:
    return str(scalar(con, "select current_database()"))


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def clear_work(con: duckdb.DuckDBPyConnection) -> None:
    """Empty the run's scratch schema: work.customers holds personal data, which must not
    stay beyond the run that needed it (raw.customers is the landed input). A scratch file is
    deleted, with its write-ahead log, and started afresh: dropping its tables would leave
    their bytes in its free blocks."""
    scratch = _work_file(con)
    if scratch is None:
        con.execute("drop schema if exists work cascade")
        con.execute("create schema work")
        return
    con.execute(f"detach {WORK_CATALOG}")
    _delete_work_file(Path(scratch))
    attach_work(con, Path(scratch))


def _delete_work_file(scratch: Path) -> None:
    for leftover in (scratch, Path(f"{scratch}.wal")):
        leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: commit on success, roll back on any exception."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    else:
        con.execute("commit")


def execute(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None
) -> duckdb.DuckDBPyConnection:
    """Run one statement from `sql/<name>.sql` with bound `$parameters`."""
    query = sql_text(name)
    return con.execute(query, bind(query, params, where=f"sql/{name}.sql"))


def materialize(
    con: duckdb.DuckDBPyConnection,
    model: str,
    target: str,
    params: Mapping[str, Any] | None = None,
) -> int:
    """Build `target` from the SELECT in `sql/<model>.sql`; returns its row count."""
    query = sql_text(model)
    con.execute(f"create or replace table {target} as {query}", bind(query, params, where=model))
    return count(con, target)


def scalar(
    con: duckdb.DuckDBPyConnection, query: str, params: Mapping[str, Any] | None = None
) -> Any:
    """The first value of the first row, or None.

    Fetches the whole result: DuckDB 2.0 keeps a half-read result open (fetchone) and refuses
    further relations on that connection until it is drained.
    """
    rows = con.execute(query, dict(params or {})).fetchall()
    return rows[0][0] if rows else None


def count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(scalar(con, f"select count(*) from {table}") or 0)


def replace_partition(
    con: duckdb.DuckDBPyConnection,
    target: str,
    source: str,
    column: str,
    value: Any,
    order_by: str | None = None,
) -> int:
    """Replace the rows of `target` where `column = value` by the rows of `source`, stored in
    `order_by`'s order when given (how well DuckDB compresses them; readers never rely on it).

    Call inside `transaction()` so readers see the old partition or the new one.
    """
    stray = scalar(
        con,
        f"select count(*) from {source} where {column} is distinct from $value",
        {"value": value},
    )
    if stray:
        # A leftover of another date would otherwise be appended next to that date's own rows.
        raise ArrearsError(
            f"{source} holds {stray} rows whose {column} is not {value}; refusing to commit them"
        )
    con.execute(f"delete from {target} where {column} = $value", {"value": value})
    order = f" order by {order_by}" if order_by else ""
    con.execute(f"insert into {target} by name select * from {source}{order}")
    return count(con, source)


@contextlib.contextmanager
def run_lock(warehouse: Path | str, timeout_seconds: float, holder: str) -> Iterator[None]:
    """One run per warehouse at a time, across processes (an advisory file lock).

    The second run waits up to `timeout_seconds`, then fails saying who holds the lock.
    """
    lock_path = Path(f"{warehouse}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout_seconds
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    other = Path(lock_path).read_text(encoding="utf-8").strip() or "another run"
                    raise RunLocked(
                        f"warehouse {warehouse} is locked by {other}; waited "
                        f"{timeout_seconds:.0f} s. Wait for it to finish, or raise "
                        "ARREARS_LOCK_TIMEOUT_SECONDS."
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"{holder} (pid {os.getpid()})".encode())
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
