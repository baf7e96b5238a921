"""The `arrears` command line (docs/CONTRACT.md section 7).

Exit codes: 0 done, 1 any other failure, 2 bad arguments or configuration, 3 input rejected.
Every setting is an option and an ARREARS_* variable; the option wins.

One module over 400 lines on purpose: each command is a thin wrapper (parse the options into
Settings, call a plain function or a flow, map errors to exit codes), and the commands share
their option types and error handling; split, each file would repeat them.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core
from rich.console import Console
from rich.markup import escape

from arrears.errors import ArrearsError, ConfigError
from arrears.redact import redact
from arrears.settings import Settings, load_settings


class PlainHelp(typer.core.TyperGroup):
    """Every command's help without type noise: an option shows its metavar (DATE, DIR) or,
    without one, its name in capitals; a flag shows nothing after its name."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            # Click makes the --help option once per command and keeps it.
            for param in [*command.params, command.get_help_option(ctx)]:
                _plain_metavar(param)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        for param in [*self.get_params(ctx), self.get_help_option(ctx)]:
            _plain_metavar(param)
        super().format_help(ctx, formatter)


def _plain_metavar(param: Any) -> None:
    if getattr(param, "param_type_name", None) != "option" or param.metavar is not None:
        return
    if param.is_flag:
        param.metavar = ""
    else:
        longest = max(param.opts, key=len)
        param.metavar = longest.lstrip("-").replace("-", "_").upper()


app = typer.Typer(
    cls=PlainHelp,
    add_completion=False,
    no_args_is_help=True,
    help="arrears: the nightly collections batch (loan snapshot -> days past due -> actions).",
)
err = Console(stderr=True)
out = Console()
# --verbose: a failure also prints its traceback (otherwise one line says what and what to do).
VERBOSE = {"on": False}

# Shared options; None means "not given", so ARREARS_* variables and defaults apply.
Landing = Annotated[
    Path | None,
    typer.Option("--landing", metavar="DIR", help="Landing folder [ARREARS_LANDING]"),
]
Warehouse = Annotated[
    Path | None,
    typer.Option("--warehouse", metavar="FILE", help="DuckDB file [ARREARS_WAREHOUSE]"),
]
Outbox = Annotated[
    Path | None, typer.Option("--outbox", metavar="DIR", help="Outbox folder [ARREARS_OUTBOX]")
]
Strategy = Annotated[
    Path | None,
    typer.Option("--strategy", metavar="FILE", help="Strategy file [ARREARS_STRATEGY]"),
]
Allocation = Annotated[
    Path | None, typer.Option("--allocation", help="Allocation file [ARREARS_ALLOCATION]")
]
Profile = Annotated[
    str | None,
    typer.Option("--profile", metavar="cn|us", help="Compliance profile [ARREARS_PROFILE]"),
]
Timezone = Annotated[
    str | None,
    typer.Option(
        "--timezone",
        metavar="NAME",
        help="Time zone of customers without one [ARREARS_TIMEZONE]",
    ),
]
Postgres = Annotated[
    str | None,
    typer.Option("--postgres", metavar="DSN", help="PostgreSQL sink DSN [ARREARS_POSTGRES]"),
]
Archive = Annotated[
    Path | None,
    typer.Option(
        "--archive",
        metavar="DIR",
        help="Archive of raw snapshots past retention [ARREARS_ARCHIVE]",
    ),
]


Init = Annotated[
    bool | None,
    typer.Option(
        "--init",
        help="Start a new warehouse although the outbox or landing folder shows earlier dates "
        "[ARREARS_INIT]",
    ),
]
# The options of every command that runs snapshot dates (run, backfill).
RUN_OPTIONS: dict[str, Any] = {
    "landing": Landing,
    "warehouse": Warehouse,
    "outbox": Outbox,
    "strategy": Strategy,
    "allocation": Allocation,
    "profile": Profile,
    "timezone": Timezone,
    "postgres": Postgres,
    "archive": Archive,
    "init": Init,
}


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        out.print(f"arrears {version('arrears')}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def options(
    verbose: Annotated[
        bool, typer.Option("--verbose", help="On failure, also print the traceback")
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_version, help="Print the version"),
    ] = False,
) -> None:
    """arrears: the nightly collections batch (loan snapshot -> days past due -> actions)."""
    VERBOSE["on"] = verbose


def _parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None


def _settings(*, reach_sink: bool = False, **options: Any) -> Settings:
    settings = load_settings(**options)
    _check_rules(settings)
    if reach_sink:
        _check_sink(settings)
    return settings


def _check_sink(settings: Settings) -> None:
    """A PostgreSQL sink that cannot be reached is bad configuration, found before anything is
    read or written (exit 2), not after the outbox is published."""
    dsn = settings.postgres_dsn()
    if dsn is None:
        return
    import psycopg

    timeout = max(1, round(settings.postgres_connect_timeout))
    try:
        psycopg.connect(dsn, connect_timeout=timeout, autocommit=True).close()
    except psycopg.Error as exc:
        reason = " ".join(redact(str(exc)).split())
        raise ConfigError(
            f"--postgres: cannot connect to the PostgreSQL sink ({reason}); "
            "check ARREARS_POSTGRES / --postgres, or leave it out to run without the sink"
        ) from None


def with_run_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give `command` the RUN_OPTIONS; it is called with the Settings they make as `settings`.

    Typer reads a command's options from its signature: the one of the returned function is
    the command's own parameters (without `settings`) followed by RUN_OPTIONS.
    """
    own = [
        p
        for p in inspect.signature(command, eval_str=True).parameters.values()
        if p.name != "settings"
    ]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=option)
        for name, option in RUN_OPTIONS.items()
    ]

    @functools.wraps(command)
    def with_settings(**given: Any) -> None:
        options = {name: given.pop(name) for name in RUN_OPTIONS}
        command(**given, settings=_settings(reach_sink=True, **options))

    params = [*own, *shared]
    with_settings.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    with_settings.__annotations__ = {p.name: p.annotation for p in params}
    return with_settings


def _check_rules(settings: Any) -> None:
    """Refuse bad configuration at start (exit 2), before any data is touched."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--timezone: unknown time zone {settings.timezone!r}") from None
    for check in _RULE_CHECKS:
        check(settings)


def _check_aging(settings: Any) -> None:
    from arrears.aging import load_aging_config

    load_aging_config(settings.aging)


def _check_strategy(settings: Any) -> None:
    from arrears.strategy import load_strategy

    strategy = load_strategy(settings.strategy, settings.profile)
    if strategy.risk.model is not None:
        from arrears.risk import store

        store.load(settings.models, strategy.risk.model)  # exit 2 when missing or unusable


def _check_allocation(settings: Any) -> None:
    from arrears.allocation.config import load_allocation

    load_allocation(settings.allocation)


# Every versioned rule file is loaded and validated before a run touches data.
_RULE_CHECKS = (_check_aging, _check_strategy, _check_allocation)


def _backfill(first: date, last: date, settings: Settings) -> None:
    """The `backfill` deployment's flow, here: each date its own daily_collections run."""
    # The first date only: a backfill runs the dates before a broken one, then stops at it.
    _check_landing(settings, [first])
    _start_prefect()
    from flows.backfill import backfill_collections

    _prefect_ready()
    backfill_collections(start=first, end=last, settings=settings)


# Set by entry(): this process is the `arrears` command (not a program calling main()).
AS_COMMAND = {"on": False}


def _start_prefect() -> None:
    """Prefect's defaults, and the local API started now when no server is configured
    (arrears/local_api.py): it starts while this process imports the flows."""
    from arrears.prefect_env import configure

    configure()
    if AS_COMMAND["on"]:
        from arrears import local_api

        local_api.start()


def _prefect_ready() -> None:
    """After the flows are imported: the local API answers; console lines without tracebacks
    unless --verbose."""
    from arrears import local_api
    from arrears.prefect_env import brief_console
    from arrears.quality import preload

    if local_api.started():
        # Prefect serializes a flow's parameters with FastAPI's encoder, imported at the first
        # flow call (0.8 s of the flow run's creation): imported here, while the API starts.
        import fastapi.encoders  # noqa: F401

        # GX's import (seconds of pure Python) begins once the flows are imported, not beside
        # them: two imports share one GIL and both end late. It goes on while this process
        # waits for the local API and while ingest runs inside DuckDB.
        preload.start()
    local_api.ready()
    local_api.without_heartbeats()
    if not VERBOSE["on"]:
        brief_console()


def _check_landing(settings: Settings, days: list[date]) -> None:
    """The landing problems that need no warehouse, for every date, before Prefect starts
    (arrears/ingest/precheck.py); a refused date is recorded REJECTED in ops.runs."""
    from arrears import runs
    from arrears.errors import rejected
    from arrears.ingest import precheck

    for day in days:
        if _kept_elsewhere(settings, day):
            continue  # the run reads the date from raw.* or the archive (docs/CONTRACT.md 8)
        found = precheck.problems(
            settings.landing, day, settings.dataset_encodings, settings.encoding
        )
        if found:
            text = "\n".join(problem.render() for problem in found)
            runs.record_rejected(settings, day, text)
            rejected(found)


def _kept_elsewhere(settings: Settings, day: date) -> bool:
    """Whether a date whose landing folder is gone can still be run from raw.* or the archive
    (restore.landing_for rebuilds the folder inside the run)."""
    from arrears import archive
    from arrears.ingest.landing import landing_folder

    if landing_folder(settings.landing, day).is_dir():
        return False
    if archive.snapshot_path(settings.archive, "loans", day).exists():
        return True  # no need to open the warehouse
    if not settings.warehouse.exists():
        return False
    import duckdb

    from arrears import restore  # polars: only for a date whose folder is gone

    try:
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            return restore.is_kept(con, settings.archive, day)
    except duckdb.Error:
        return True  # busy or unreadable here: the run itself decides, with the same message


@app.command()
@with_run_options
def run(
    snapshot: Annotated[str, typer.Option("--date", help="Snapshot date D (YYYY-MM-DD)")],
    settings: Settings,
) -> None:
    """Process the snapshot of one date: actions for the next day."""
    day = _parse_date(snapshot, "--date")
    _check_landing(settings, [day])
    _start_prefect()
    from flows.daily_collections import daily_collections

    _prefect_ready()
    daily_collections(snapshot_date=day, settings=settings)
    out.print(f"snapshot {day} done: actions for {day + timedelta(days=1)} in {settings.outbox}")


@app.command()
@with_run_options
def backfill(
    start: Annotated[str, typer.Option("--from", help="First snapshot date")],
    end: Annotated[str, typer.Option("--to", help="Last snapshot date (inclusive)")],
    settings: Settings,
) -> None:
    """Run every date from --from to --to in order; stops at the first failure (resume from it)."""
    first, last = _parse_date(start, "--from"), _parse_date(end, "--to")
    if last < first:
        raise ConfigError(f"--to {last} is before --from {first}")
    _backfill(first, last, settings)
    out.print(f"backfill done: {(last - first).days + 1} snapshot dates, {first} .. {last}")


@app.command()
def cancel(
    action: Annotated[str, typer.Option("--date", help="Action date A (YYYY-MM-DD)")],
    landing: Landing = None,
    warehouse: Warehouse = None,
    outbox: Outbox = None,
    strategy: Strategy = None,
    timezone: Timezone = None,
    postgres: Postgres = None,
) -> None:
    """Withdraw the actions of A that the day's payments (landing/<A>/payments/) made
    unnecessary; publishes the cumulative list in <outbox>/<A>/cancel/."""
    day = _parse_date(action, "--date")
    settings = _settings(
        reach_sink=True,
        landing=landing,
        warehouse=warehouse,
        outbox=outbox,
        strategy=strategy,
        timezone=timezone,
        postgres=postgres,
    )
    result = _cancel(day, settings)
    _print_cancelled(result)


def _cancel(day: date, settings: Any) -> dict[str, Any]:
    _start_prefect()
    from flows.cancel_actions import cancel_actions

    _prefect_ready()
    return cancel_actions(action_date=day, settings=settings)


def _print_cancelled(result: dict[str, Any]) -> None:
    cancelled: dict[str, dict[str, int]] = result["cancelled"]
    total = sum(n for reasons in cancelled.values() for n in reasons.values())
    out.print(
        f"action date {result['action_date']}: {result['payments']} payments, "
        f"{total} of {result['actions']} actions withdrawn -> {result['folder']}"
    )
    for channel, reasons in sorted(cancelled.items()):
        for reason, n in sorted(reasons.items()):
            out.print(f"  {channel:<7} {reason:<17} {n}")


def _print_cancel_examples(warehouse: Path, day: date, timezone: str, limit: int = 5) -> None:
    """The first withdrawn actions of the day: ids, amounts and times only."""
    from arrears import warehouse as store

    with store.opened(warehouse, read_only=True) as con:
        rows = con.execute(
            "select action_id, lower(channel), stage, reason, "
            "strftime(timezone($tz, covered_at), '%H:%M'), covered_amount, len(payment_ids) "
            "from marts.cancelled_actions where action_date = $d "
            "order by covered_at, action_id limit $n",
            {"tz": timezone, "d": day, "n": limit},
        ).fetchall()
    if rows:
        out.print("  action        channel stage     reason           covered  payments  amount")
    for action_id, channel, stage, reason, at, amount, paid in rows:
        out.print(
            f"  {action_id[:12]}  {channel:<7} {stage:<9} {reason:<16} {at:<8} {paid:>8}  "
            f"{amount:,.2f}"
        )


@app.command()
@with_run_options
def sink(
    snapshot: Annotated[str, typer.Option("--date", help="Snapshot date D (YYYY-MM-DD)")],
    settings: Settings,
) -> None:
    """Send the published actions of D + 1 to PostgreSQL again: only the sink (after a run
    ended PUBLISHED_SINK_FAILED)."""
    import logging

    from arrears.publish.date_sink import retry_sink

    day = _parse_date(snapshot, "--date")
    logger = logging.getLogger("arrears.cli.sink")
    logger.propagate = False  # its lines go to this console only, not to a Prefect handler
    if not logger.handlers:
        logger.addHandler(logging.StreamHandler(sys.stderr))
        logger.setLevel(logging.INFO)
    sent, status = retry_sink(day, settings, logger)
    out.print(f"snapshot {day}: {sent} actions for {day + timedelta(days=1)} sent; run {status}")


@app.command()
def generate(
    landing: Landing = None,
    start: Annotated[str, typer.Option("--start", help="First snapshot date")] = "2025-06-01",
    days: Annotated[int, typer.Option("--days", min=1, help="Consecutive snapshot days")] = 3,
    loans: Annotated[int, typer.Option("--loans", min=1, help="Loans in the book")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same files)")] = 7,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    skip_optional_every: Annotated[
        int,
        typer.Option(
            "--skip-optional-every",
            min=0,
            help="Leave out the carried datasets every N-th day (exercises carry-forward)",
        ),
    ] = 0,
    payments: Annotated[
        bool,
        typer.Option(
            "--payments/--no-payments",
            help="Also write each snapshot's next-day payments (landing/<D+1>/payments/)",
        ),
    ] = True,
    bureau: Annotated[
        bool, typer.Option("--bureau/--no-bureau", help="Also write credit-bureau reports")
    ] = True,
) -> None:
    """Write a synthetic landing folder: a realistic book over consecutive days."""
    if fmt not in ("csv", "parquet"):
        raise ConfigError(f"--format: {fmt!r} is not csv or parquet")
    settings = _settings(landing=landing)
    first = _parse_date(start, "--start")
    summary = _generate(
        settings.landing,
        first,
        days,
        loans,
        seed,
        fmt,
        skip_optional_every,
        payments=payments,
        bureau=bureau,
    )
    out.print(f"wrote {len(summary.dates)} snapshot days to {settings.landing}")


def _generate(
    landing: Path,
    start: date,
    days: int,
    loans: int,
    seed: int,
    fmt: str,
    skip_every: int = 0,
    *,
    payments: bool = False,
    bureau: bool = False,
):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from arrears.generate import generate_landing

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err) as bar:
        job = bar.add_task(f"generating {loans:,} loans", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(job, completed=done, total=total)

        return generate_landing(
            landing,
            start,
            days,
            loans,
            seed=seed,
            fmt="parquet" if fmt == "parquet" else "csv",
            progress=progress,
            skip_optional_every=skip_every,
            payments=payments,
            bureau=bureau,
        )


@app.command()
def report(
    snapshot: Annotated[str, typer.Option("--date", help="Snapshot date D (YYYY-MM-DD)")],
    warehouse: Warehouse = None,
    reports: Annotated[
        Path | None, typer.Option("--reports", help="Report folder [ARREARS_REPORTS]")
    ] = None,
) -> None:
    """Write the daily HTML report of a processed snapshot date."""
    from arrears.report import report_for_date

    day = _parse_date(snapshot, "--date")
    settings = _settings(warehouse=warehouse, reports=reports)
    if not settings.warehouse.exists():
        raise ConfigError(f"--warehouse: {settings.warehouse} does not exist; run a date first")
    path = report_for_date(
        settings.warehouse,
        day,
        settings.reports,
        wait_seconds=settings.lock_timeout_seconds,
        memory_limit=settings.memory_limit,
        outbox=settings.outbox.resolve(),
        manifest_url=settings.manifest_link(day + timedelta(days=1)),
    )
    out.print(f"report: {path}")


@app.command("rotate-key")
def rotate_key(warehouse: Warehouse = None) -> None:
    """Re-seal the personal data of the warehouse under a new key (docs/privacy.md)."""
    from arrears.pii.rotation import rotate_key as rotate

    settings = _settings(warehouse=warehouse)
    if not settings.warehouse.exists():
        raise ConfigError(f"--warehouse: {settings.warehouse} does not exist; run a date first")
    old, new, rows = rotate(settings)
    out.print(f"key {old} -> {new}: {rows} customer rows re-sealed; {settings.pii_key_path()}")


@app.command()
def init(landing: Landing = None, warehouse: Warehouse = None, outbox: Outbox = None) -> None:
    """Create the warehouse and start a new history in it, on purpose (a run otherwise refuses
    a missing or empty warehouse when the outbox or landing folder shows earlier dates)."""
    from arrears import continuity

    settings = _settings(landing=landing, warehouse=warehouse, outbox=outbox)
    path = settings.warehouse.resolve()
    seen = continuity.evidence(settings.landing, settings.outbox, None)
    with settings.open_warehouse() as con:
        history = continuity.history_of(con)
        if history is None:
            continuity.record_initialisation(
                con, settings.warehouse, None, seen, settings.landing, settings.outbox
            )
    if history:
        out.print(f"warehouse {path} already holds its history ({history}): nothing to do")
        return
    out.print(f"warehouse {path} initialised: runs on it start a new history")
    if seen:
        note = seen.describe(settings.landing, settings.outbox, None)
        out.print(f"  earlier dates it will not know about: {note}")


@app.command()
def demo(
    landing: Landing = None,
    warehouse: Warehouse = None,
    outbox: Outbox = None,
    allocation: Allocation = None,
    days: Annotated[int, typer.Option("--days", min=1, help="Days to generate and run")] = 5,
    loans: Annotated[int, typer.Option("--loans", min=1, help="Loans in the book")] = 5_000,
    start: Annotated[str, typer.Option("--start", help="First snapshot date")] = "2025-06-01",
) -> None:
    """Generate a small book and run it for several consecutive days, then withdraw the last
    action date's actions that its payments made unnecessary."""
    # A demo starts its own history, whatever an earlier demo left in the outbox.
    settings = _settings(
        landing=landing, warehouse=warehouse, outbox=outbox, allocation=allocation, init=True
    )
    first = _parse_date(start, "--start")
    _generate(settings.landing, first, days, loans, 7, "csv", payments=True, bureau=True)
    last = first + timedelta(days=days - 1)
    _backfill(first, last, settings)
    out.print()
    withdrawn_on = last + timedelta(days=1)
    _print_cancelled(_cancel(withdrawn_on, settings))
    _print_cancel_examples(settings.warehouse, withdrawn_on, settings.timezone)
    out.print()
    out.print("[bold]arrears demo done[/]")
    out.print(f"  landing    {settings.landing.resolve()}")
    out.print(f"  warehouse  {settings.warehouse.resolve()}")
    out.print(f"  outbox     {settings.outbox.resolve()}")
    out.print(f"  reports    {settings.reports.resolve()}")
    out.print("Look at:")
    out.print(f"  {settings.reports / last.isoformat() / 'report.html'}   the daily report")
    out.print(
        f"  {settings.outbox / (last + timedelta(days=1)).isoformat()}/   tomorrow's action lists"
    )
    out.print(
        f"  {settings.outbox / (last + timedelta(days=1)).isoformat() / 'cancel'}/   "
        "what its payments withdrew"
    )
    _print_bureau_months(settings, first, last)
    out.print(
        "  uv run python -c \"import duckdb; duckdb.connect('"
        + str(settings.warehouse)
        + "', read_only=True).sql('from marts.kpi_daily order by all').show()\""
    )


def _print_bureau_months(settings: Any, first: date, last: date) -> None:
    """The month-end files the demo's nights wrote, or how to get some (docs/bureau.md)."""
    from arrears.bureau import files, month

    ends = [
        first + timedelta(days=k)
        for k in range((last - first).days + 1)
        if month.is_reporting_day(first + timedelta(days=k), settings.bureau_day)
    ]
    for end in ends:
        out.print(f"  {files.month_folder(settings.outbox, end.replace(day=1))}/   bureau files")
    if not ends:
        out.print(
            "  no month end among the demo's nights: `arrears demo --start 2025-05-27` ends on "
            "2025-05-31 and writes outbox/bureau/2025-05/ (PBOC and Metro 2)"
        )


def _existing_warehouse(settings: Any) -> Path:
    if not settings.warehouse.exists():
        raise ConfigError(f"--warehouse: {settings.warehouse} does not exist; run a date first")
    return settings.warehouse


@app.command()
def housekeeping(
    snapshot: Annotated[
        str | None,
        typer.Option("--date", help="The night to keep house for (default: the latest)"),
    ] = None,
    warehouse: Warehouse = None,
    archive: Archive = None,
    outbox: Outbox = None,
) -> None:
    """What a night does after publishing, alone: archive raw snapshots past ARREARS_RAW_KEEP_DAYS,
    erase expired personal data and outbox folders, record it all in ops.housekeeping."""
    import uuid

    from arrears import housekeeping as keeping
    from arrears import warehouse as store

    day = _parse_date(snapshot, "--date") if snapshot else None
    settings = _settings(warehouse=warehouse, archive=archive, outbox=outbox)
    path = _existing_warehouse(settings)
    run_id = f"housekeeping-{uuid.uuid4()}"
    with (
        store.run_lock(path, settings.lock_timeout_seconds, f"arrears housekeeping {run_id}"),
        store.opened(path) as con,
    ):
        day = day or keeping.latest_night(con)
        report = keeping.run(con, day, keeping.Retention.from_settings(settings), run_id)
    for entry in report.entries:
        out.print(escape(entry.describe()), highlight=False, soft_wrap=True)
    for note in report.notes:
        err.print(f"[yellow]note[/]: {escape(note)}", highlight=False, soft_wrap=True)
    done = ", ".join(f"{key} {rows}" for key, rows in report.totals().items()) or "nothing to do"
    out.print(f"housekeeping for {day} ({run_id}): {done}", highlight=False, soft_wrap=True)


@app.command()
def bureau(
    month: Annotated[str, typer.Option("--month", help="The month reported (YYYY-MM)")],
    warehouse: Warehouse = None,
    outbox: Outbox = None,
) -> None:
    """Write a month's bureau files again (<outbox>/bureau/<YYYY-MM>/) from its committed rows
    in marts.bureau_accounts: the same rows give the same bytes."""
    import uuid

    from arrears import warehouse as store
    from arrears.bureau import files
    from arrears.pii.keys import configured_key

    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ConfigError(f"--month: {month!r} is not a month (YYYY-MM)") from None
    settings = _settings(warehouse=warehouse, outbox=outbox)
    path = _existing_warehouse(settings)
    reporter = files.Reporter(settings.bureau_reporter_id, settings.bureau_reporter_name)
    with (
        store.run_lock(path, settings.lock_timeout_seconds, f"arrears bureau {month}"),
        store.opened(path, read_only=True) as con,
    ):
        content = files.publish(
            con, settings.outbox, first, f"bureau-{uuid.uuid4()}", reporter,
            configured_key(settings),
        )  # fmt: skip
    for entry in content["files"]:
        out.print(f"{files.month_folder(settings.outbox, first) / entry['name']}: {entry['rows']}")


@app.command("rebuild-state")
def rebuild_state(
    through: Annotated[
        str | None,
        typer.Option("--through", help="The last night to rebuild (default: the latest)"),
    ] = None,
    warehouse: Warehouse = None,
) -> None:
    """Rebuild the state carried from night to night by folding the committed marts, night by
    night, through --through; the nights after it then need rerunning (arrears backfill)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from arrears import state
    from arrears import warehouse as store

    day = _parse_date(through, "--through") if through else None
    settings = _settings(warehouse=warehouse)
    path = _existing_warehouse(settings)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with (
        store.run_lock(path, settings.lock_timeout_seconds, "arrears rebuild-state"),
        store.opened(path) as con,
        Progress(*columns, console=err) as bar,
    ):
        if day is not None and not state.committed_snapshots(con, day):
            # Folding no night would leave no state at all.
            raise ConfigError(f"--through: no committed night on or before {day}; nothing changed")
        job = bar.add_task("rebuilding state", total=None)

        def progress(night: date, total: int) -> None:
            bar.update(job, description=f"night {night}", total=total, advance=1)

        nights = state.rebuild(
            con, through=day, keep_nights=settings.raw_keep_days, on_night=progress
        )
        later = [d for d in state.committed_snapshots(con) if day is not None and d > day]
    out.print(f"state rebuilt over {nights} committed nights through {day or 'the latest'}")
    if later:
        out.print(
            f"{len(later)} later night(s) have no state now: rerun them with "
            f"arrears backfill --from {later[0]} --to {later[-1]}",
            highlight=False,
            soft_wrap=True,
        )


Models = Annotated[
    Path | None, typer.Option("--models", help="Saved models folder [ARREARS_MODELS]")
]


@app.command()
def train(
    first: Annotated[str, typer.Option("--from", help="First night sampled (YYYY-MM-DD)")],
    last: Annotated[str, typer.Option("--to", help="Last night read (labels included)")],
    auc_floor: Annotated[
        float | None,
        typer.Option("--auc-floor", help="Held-out AUC floor [ARREARS_MODEL_AUC_FLOOR]"),
    ] = None,
    holdout_days: Annotated[
        int, typer.Option("--holdout-days", help="Latest sampled days held out", min=1)
    ] = 30,
    step_days: Annotated[int, typer.Option("--step-days", help="Days between samples", min=1)] = 30,
    max_rows: Annotated[
        int, typer.Option("--max-rows", help="Loan-nights sampled at most", min=1000)
    ] = 2_000_000,
    label: Annotated[
        str,
        typer.Option("--label", help="What the model predicts: roll_forward or past_due"),
    ] = "roll_forward",
    warehouse: Warehouse = None,
    models: Models = None,
) -> None:
    """Fit the roll-forward model (or --label past_due) on the committed nights --from..--to,
    validate it on the latest months held out, and save models/<version>/ unless its AUC is below
    the floor (exit 3, nothing saved)."""
    from arrears import warehouse as store
    from arrears.aging import load_aging_config
    from arrears.risk.train import Training
    from arrears.risk.train import train as fit_and_save

    begin, end = _parse_date(first, "--from"), _parse_date(last, "--to")
    if end <= begin:
        raise ConfigError(f"--to {end} must be after --from {begin}")
    settings = _settings(warehouse=warehouse, models=models, model_auc_floor=auc_floor)
    aging = load_aging_config(settings.aging)
    spec = Training(
        first=begin,
        last=end,
        bucket_order=tuple(b.label for b in aging.buckets),
        auc_floor=settings.model_auc_floor,
        holdout_days=holdout_days,
        step_days=step_days,
        max_rows=max_rows,
        label=label,
    )
    with store.opened(_existing_warehouse(settings), read_only=True) as con:
        trained = fit_and_save(con, spec, settings.models)
    held = trained.metrics["held_out"]
    out.print(
        f"model {trained.version}: held-out AUC {held['auc']:.4f}, KS {held['ks']:.4f} "
        f"({held['rows']} loans, {label} rate {held['positive_rate']:.2%}); "
        f"saved in {trained.folder}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def simulate(
    candidate: Annotated[Path, typer.Option("--strategy", help="The candidate strategy file")],
    first: Annotated[str, typer.Option("--from", help="First night replayed (YYYY-MM-DD)")],
    last: Annotated[str, typer.Option("--to", help="Last night replayed")],
    name: Annotated[
        str | None,
        typer.Option("--name", help="Folder under reports/simulations/ (default: file and dates)"),
    ] = None,
    warehouse: Warehouse = None,
    landing: Landing = None,
    archive: Archive = None,
    profile: Profile = None,
    timezone: Timezone = None,
    models: Models = None,
) -> None:
    """Replay deciding over the committed nights --from..--to with another strategy, its own
    cadences and episodes; write nothing but reports/simulations/<name>/ (HTML and Parquet)."""
    import re

    import polars as pl

    from arrears.simulation import simulate as replay
    from arrears.strategy import load_strategy

    begin, end = _parse_date(first, "--from"), _parse_date(last, "--to")
    if end < begin:
        raise ConfigError(f"--to {end} is before --from {begin}")
    folder = name or f"{candidate.stem}-{begin}-{end}"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", folder):
        raise ConfigError(f"--name {folder!r}: letters, digits, '.', '_' and '-' only")
    settings = _settings(
        warehouse=warehouse,
        landing=landing,
        archive=archive,
        profile=profile,
        timezone=timezone,
        models=models,
    )
    strategy = load_strategy(candidate, settings.profile)
    result = replay(settings, strategy, begin, end, folder)
    by_channel = result.totals.group_by("channel").agg(
        pl.col("simulated", "published", "simulated_cost").sum()
    )
    for row in by_channel.sort("channel").iter_rows(named=True):
        out.print(
            f"{row['channel']}: {row['simulated']} simulated, {row['published']} published, "
            f"cost {row['simulated_cost']}",
            highlight=False,
        )
    out.print(f"{len(result.nights)} nights simulated: {result.folder}", highlight=False)


@app.command()
def automations(
    webhook: Annotated[
        str | None,
        typer.Option("--webhook", metavar="URL", help="Send to this URL (a JSON POST)"),
    ] = None,
    block: Annotated[
        str | None,
        typer.Option(
            "--block",
            metavar="TYPE/NAME",
            help="Send through a notification block made in Prefect (slack-webhook/desk)",
        ),
    ] = None,
    done_by: Annotated[
        str,
        typer.Option("--done-by", metavar="HH:MM", help="When the daily run must have completed"),
    ] = "06:00",
    allow_private: Annotated[
        bool,
        typer.Option("--allow-private", help="Allow a webhook on a private address (intranet)"),
    ] = False,
) -> None:
    """Create the automations of automations/ in the Prefect server of PREFECT_API_URL: a
    failed, crashed or timed-out run, and a night not done by --done-by, sent to --webhook or
    --block (docs/operating.md, "Watching the nights"). Rerunning replaces them."""
    from arrears import automations as alerts

    if (webhook is None) == (block is None):
        raise ConfigError("give one of --webhook URL or --block TYPE/NAME")
    night = alerts.night_length(alerts.daily_start(), alerts.parse_hour(done_by))
    from arrears.prefect_env import configure

    configure()
    import os

    if not os.environ.get("PREFECT_API_URL"):
        from arrears import local_api

        if not local_api.configured():
            raise ConfigError(
                'automations live in a Prefect server: set PREFECT_API_URL (README, "Operating it")'
            )
    block_id = (
        alerts.webhook_block(webhook, allow_private) if webhook else alerts.existing_block(block)  # type: ignore[arg-type]
    )
    names = alerts.create(alerts.load(block_id, night))
    target = webhook and alerts.WEBHOOK_BLOCK or block
    for name in names:
        out.print(f"automation {name} -> {target}", highlight=False)
    hours = night.total_seconds() / 3600
    out.print(f"a night not completed within {hours:g} h of its start ({done_by}) is reported")


def main(argv: list[str] | None = None) -> int:
    """Entry point: maps failures to the contract's exit codes."""
    VERBOSE["on"] = False
    try:
        app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.TyperException as exc:
        # Usage errors: unknown command or option, missing or malformed value. Typer's errors
        # print themselves (usage line, help hint, message) as a standalone run would.
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"Error: {escape(exc.format_message())}", highlight=False)
        return 2
    except typer.Abort:
        err.print("aborted")
        return 1
    except ArrearsError as exc:
        _traceback(exc)
        _last(f"[red]error[/] (exit {exc.exit_code}): {escape(redact(str(exc)))}")
        return exc.exit_code
    except Exception as exc:
        _traceback(exc)
        hint = "" if VERBOSE["on"] else " (arrears --verbose shows the traceback)"
        _last(f"[red]failed[/] (exit 1): {type(exc).__name__}: {escape(redact(str(exc)))}{hint}")
        return 1
    return 0


# Set by entry(): the error message then waits until the process's exit handlers have run.
_PENDING: list[str] | None = None


def _last(line: str) -> None:
    if _PENDING is not None:
        _PENDING.append(line)
    else:
        err.print(line, highlight=False, soft_wrap=True)


def _traceback(exc: BaseException) -> None:
    if VERBOSE["on"]:
        import traceback

        lines = traceback.format_exception(exc)
        err.print(escape(redact("".join(lines))), highlight=False, soft_wrap=True)


def entry() -> None:
    """The `arrears` console command: main(), then an exit with nothing printed after its last
    line. The process's exit handlers (Prefect's temporary API, log handlers) run before the
    error line is printed; the interpreter's teardown, where native extensions report objects
    still alive (`nanobind: leaked ...`), is skipped."""
    import atexit
    import os

    global _PENDING
    _PENDING = []
    AS_COMMAND["on"] = True
    code = main()
    from arrears import local_api

    local_api.stop_last(atexit._run_exitfuncs)
    for line in _PENDING:
        err.print(line, highlight=False, soft_wrap=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
