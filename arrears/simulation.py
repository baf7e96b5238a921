"""`arrears simulate`: a candidate strategy replayed over committed nights, written nowhere but
reports/simulations/<name>/ (docs/models.md, "Simulating a strategy").

The replay runs in a DuckDB of its own, in memory. The warehouse is attached read-only: its
marts and raw tables are views there, except the state, which the candidate carries itself:
seeded from the committed state of the night before D1 (or folded from the marts when that
version is no longer kept), then, night by night, built by the nightly state models deciding
reads from the candidate's own actions. So the candidate's cadences, episodes and prior-action
conditions depend on what the candidate would have sent. Each night reads its inputs typed from
where the night left them (raw.*, else the archive: arrears/kept_inputs.py; the landing folder,
as a rerun reads it, only when neither holds the night), takes the committed aging of the
night (aging does not depend on the strategy) and decides through the same registry models as
the night. No validation, KPIs, allocation or sealing: deciding does not read them. Nothing is
written to the warehouse, the outbox or the sink.
"""

from __future__ import annotations

import html
import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from arrears import ingest, registry, restore, state, warehouse
from arrears.aging import AGE_MODELS
from arrears.errors import ConfigError
from arrears.kept_inputs import KeptInputs
from arrears.pii import keys
from arrears.settings import Settings
from arrears.strategy import Strategy, decide
from arrears.strategy.engine import CONFIG_TABLES, write_config_tables
from arrears.strategy.engine import OUTPUTS as DECIDE_OUTPUTS

COMMITTED = "committed"
# The candidate's configuration tables, kept across nights in the scratch database.
_CONFIG = "candidate"


@dataclass(frozen=True)
class Simulated:
    folder: Path
    nights: list[date]
    totals: pl.DataFrame  # channel, stage: simulated, published, difference, cost


def _attach(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """The warehouse read-only, and its raw and marts tables as views of the scratch database
    (the state tables stay scratch tables: the candidate's own)."""
    quoted = str(path).replace("'", "''")
    con.execute(f"attach '{quoted}' as {COMMITTED} (read_only)")
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where database_name = $db and schema_name in ('raw', 'marts') order by 1, 2",
        {"db": COMMITTED},
    ).fetchall()
    for schema, table in tables:
        if schema == "marts" and table in state.STATE_MODELS:
            continue
        con.execute(f'drop table if exists {schema}."{table}"')
        con.execute(
            f'create view {schema}."{table}" as select * from {COMMITTED}.{schema}."{table}"'
        )


def _seed_state(con: duckdb.DuckDBPyConnection, previous: date | None) -> str:
    """The candidate starts from the committed state of the night before D1."""
    if previous is None:
        return "no earlier night: the candidate starts with no state"
    kept = con.execute(
        f"select count(*) from {COMMITTED}.marts.loan_state where snapshot_date = $p",
        {"p": previous},
    ).fetchall()[0][0]
    if kept:
        for name in state.STATE_MODELS:
            con.execute(
                f"insert into marts.{name} select * from {COMMITTED}.marts.{name} "
                "where snapshot_date = $p",
                {"p": previous},
            )
        return f"state of {previous} as committed"
    nights = state.fold(con, through=previous)
    return f"state of {previous} folded from {nights} committed nights (its version is not kept)"


def _night_inputs(
    con: duckdb.DuckDBPyConnection,
    night: date,
    settings: Settings,
    scratch: Path,
    kept: KeptInputs,
) -> None:
    """work.* as the night had them, and the night's committed aging: typed from raw.* or the
    archive (arrears/kept_inputs.py), else ingested as a rerun of the night reads them."""
    warehouse.clear_work(con)
    encodings = settings.dataset_encodings
    if kept.read(night, settings.landing, encodings, settings.encoding) is None:
        with restore.landing_for(
            con,
            settings.landing,
            settings.archive,
            night,
            scratch / "replay.duckdb",  # its private landing folder goes beside this, in scratch
            kept.key,
        ) as landing:
            ingest.ingest(
                con, night, landing.root, encodings=encodings, default_encoding=settings.encoding
            )
    con.execute(
        "create or replace table work.loan_aging as "
        "select * from marts.loan_aging where snapshot_date = $d",
        {"d": night},
    )


def _configure(con: duckdb.DuckDBPyConnection, candidate: Strategy) -> None:
    """The candidate's work.strategy_* tables, written once and copied where clearing work.*
    each night leaves them (DuckDB inserts rows one statement at a time: the copy is cheaper)."""
    write_config_tables(con, candidate)
    con.execute(f"create schema if not exists {_CONFIG}")
    for name in CONFIG_TABLES:
        con.execute(f"create or replace table {_CONFIG}.{name} as select * from work.{name}")


def _configured(con: duckdb.DuckDBPyConnection) -> None:
    for name in CONFIG_TABLES:
        con.execute(f"create or replace table work.{name} as select * from {_CONFIG}.{name}")


def carried_models() -> tuple[str, ...]:
    """The state models deciding reads, and those they are built from: all the state a
    candidate's next night needs. The allocation's continuity and the contact data reported
    bad are not built (the candidate does not allocate; what was reported bad is landed data,
    read from the warehouse)."""

    def reads(names: set[str]) -> set[str]:
        steps = registry.plan(sorted(names), given=(*AGE_MODELS, *DECIDE_OUTPUTS))
        return registry.external_reads(m.name for m in steps)

    steps = registry.plan(DECIDE_OUTPUTS, given=AGE_MODELS)
    wanted = registry.external_reads(m.name for m in steps)
    carried: set[str] = set()
    while True:
        found = {n for n in state.STATE_MODELS if f"marts.{n}" in wanted} - carried
        if not found:
            return tuple(n for n in state.STATE_MODELS if n in carried)
        carried |= found
        wanted = reads(carried)


def committed_models(carried: tuple[str, ...]) -> tuple[str, ...]:
    """The carried state models that no strategy changes: none of the models they are built
    from reads the decide step's results, nor a state model that does. Where the warehouse
    keeps their version of a night, that version is the candidate's too."""
    known = registry.models()
    given = (*AGE_MODELS, *DECIDE_OUTPUTS)
    fixed: list[str] = []
    for name in carried:  # in build order: a state model reads only those before it
        steps = registry.plan([name], given=given)
        inputs = set().union(*(known[m.name].upstream for m in steps))
        states = {
            r.removeprefix("marts.") for r in registry.external_reads(m.name for m in steps)
        } & set(state.STATE_MODELS)
        if not inputs & set(DECIDE_OUTPUTS) and states <= {name, *fixed}:
            fixed.append(name)
    return tuple(fixed)


def _carry(
    con: duckdb.DuckDBPyConnection,
    night: date,
    carried: tuple[str, ...],
    committed: tuple[str, ...],
) -> None:
    """Tonight's version of the carried state: copied from the warehouse for the models no
    strategy changes when it keeps the night's version, built from work.* for the others."""
    kept = con.execute(
        f"select count(*) > 0 from (select 1 from {COMMITTED}.marts.loan_state "
        "where snapshot_date = $d limit 1)",
        {"d": night},
    ).fetchall()[0][0]
    copied = committed if kept else ()
    built = tuple(n for n in carried if n not in copied)
    state.build(con, night, state.previous_snapshot(con, night), built)
    for name in carried:
        con.execute(f"delete from marts.{name} where snapshot_date = $d", {"d": night})
        source = (
            f"{COMMITTED}.marts.{name} where snapshot_date = $d"
            if name in copied
            else (f"work.{name}")
        )
        params = {"d": night} if name in copied else {}
        con.execute(f"insert into marts.{name} by name select * from {source}", params)


def _frame(con: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(pl.from_arrow(con.sql(query, params=params).to_arrow_table()))


def simulate(
    settings: Settings,
    candidate: Strategy,
    first: date,
    last: date,
    name: str,
) -> Simulated:
    """Replay the committed nights first..last with `candidate`; write the report and Parquet
    files under <reports>/simulations/<name>/ and return where."""
    if not settings.warehouse.exists():
        raise ConfigError(f"--warehouse: {settings.warehouse} does not exist")
    target = settings.reports / "simulations" / name
    scratch = Path(tempfile.mkdtemp(prefix="arrears-simulate-"))
    con = warehouse.connect(":memory:", memory_limit=settings.memory_limit)
    try:
        _attach(con, settings.warehouse)
        nights = state.committed_snapshots(con, last)
        nights = [n for n in nights if n >= first]
        if not nights:
            raise ConfigError(f"--from {first} --to {last}: no committed night in the range")
        seeded = _seed_state(con, state.previous_snapshot(con, nights[0]))
        carried = carried_models()
        committed = committed_models(carried)
        _configure(con, candidate)
        kept = KeptInputs(con, settings.archive, keys.configured_key(settings))
        actions, suppressed, published = [], [], []
        for night in nights:
            _night_inputs(con, night, settings, scratch, kept)
            _configured(con)
            decide(con, night, candidate, settings.timezone, settings.models, configured=True)
            _carry(con, night, carried, committed)
            day = {"d": night}
            actions.append(_frame(con, "select * from work.collection_actions", {}))
            suppressed.append(
                _frame(
                    con,
                    "select $d::date as snapshot_date, channel, stage, reason, count(*) as actions "
                    "from work.suppressed_actions group by all",
                    day,
                )
            )
            published.append(
                _frame(
                    con,
                    "select snapshot_date, channel, stage, count(*) as actions "
                    "from marts.collection_actions where action_date = $d::date + 1 group by all",
                    day,
                )
            )
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
    simulated = pl.concat(actions, how="vertical_relaxed")
    daily, totals = _compare(simulated, pl.concat(published), candidate.costs)
    reasons = pl.concat(suppressed).sort("snapshot_date", "channel", "reason", "stage")
    _write(target, simulated, daily, totals, reasons, candidate, nights, seeded)
    return Simulated(target, nights, totals)


def _compare(
    simulated: pl.DataFrame, published: pl.DataFrame, costs: dict[str, Decimal]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Actions per night, channel and stage: simulated, published, the difference, the cost."""
    keys_ = ["snapshot_date", "channel", "stage"]
    counted = simulated.group_by(keys_).agg(pl.len().alias("simulated"))
    daily = (
        counted.join(
            published.rename({"actions": "published"}), on=keys_, how="full", coalesce=True
        )
        .with_columns(pl.col("simulated", "published").fill_null(0).cast(pl.Int64))
        .with_columns((pl.col("simulated") - pl.col("published")).alias("difference"))
    )
    unit = pl.DataFrame(
        {"channel": list(costs), "unit_cost": [str(c) for c in costs.values()]},
        schema={"channel": pl.String, "unit_cost": pl.String},
    ).with_columns(pl.col("unit_cost").cast(pl.Decimal(18, 4)))
    daily = (
        daily.join(unit, on="channel", how="left")
        .with_columns(pl.col("unit_cost").fill_null(pl.lit(0).cast(pl.Decimal(18, 4))))
        .with_columns(
            (pl.col("unit_cost") * pl.col("simulated")).alias("simulated_cost"),
            (pl.col("unit_cost") * pl.col("published")).alias("published_cost"),
        )
        .sort(keys_)
    )
    totals = (
        daily.group_by("channel", "stage")
        .agg(
            pl.col("simulated", "published", "difference").sum(),
            pl.col("simulated_cost", "published_cost").sum(),
        )
        .sort("channel", "stage")
    )
    return daily, totals


def _table(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in frame.iter_rows()
    )
    return f"<table><tr>{head}</tr>\n{rows}\n</table>"


def _write(
    target: Path,
    simulated: pl.DataFrame,
    daily: pl.DataFrame,
    totals: pl.DataFrame,
    reasons: pl.DataFrame,
    candidate: Strategy,
    nights: list[date],
    seeded: str,
) -> None:
    """The folder whole or not at all: written beside it, then swapped in."""
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        simulated.write_parquet(building / "actions.parquet", compression="zstd")
        daily.write_parquet(building / "daily.parquet")
        reasons.write_parquet(building / "suppressed.parquet")
        by_channel = totals.group_by("channel").agg(
            pl.col("simulated", "published", "difference", "simulated_cost", "published_cost").sum()
        )
        capacity = reasons.filter(pl.col("reason") == "CAPACITY")
        by_night = daily.group_by("snapshot_date", "channel").agg(
            pl.col("simulated", "published", "difference", "simulated_cost").sum()
        )
        by_reason = (
            reasons.group_by("channel", "reason")
            .agg(pl.col("actions").sum())
            .sort("channel", "reason")
        )
        summary = {
            "strategy_version": candidate.version,
            "model_version": candidate.risk.model,
            "nights": [n.isoformat() for n in nights],
            "state": seeded,
            "simulated_actions": simulated.height,
            "published_actions": int(daily["published"].sum()),
            "simulated_cost": str(daily["simulated_cost"].sum()),
            "published_cost": str(daily["published_cost"].sum()),
            "capacity_deferrals": int(capacity["actions"].sum()) if capacity.height else 0,
        }
        (building / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>simulation {html.escape(target.name)}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 10px;text-align:right}}</style>
</head><body>
<h1>Simulation {html.escape(target.name)}</h1>
<p>Strategy {html.escape(candidate.version)}, ranked by
{html.escape(candidate.risk.model or "the weighted score")}, replayed over {len(nights)} nights
({nights[0]} to {nights[-1]}); {html.escape(seeded)}. Published: what the nights actually
sent. Nothing was written to the warehouse, the outbox or the sink.</p>
<h2>Total by channel</h2>{_table(by_channel.sort("channel"))}
<h2>Total by channel and stage</h2>{_table(totals)}
<h2>Suppressed (capacity deferrals: reason CAPACITY)</h2>
{_table(by_reason)}
<h2>By night and channel</h2>{_table(by_night.sort("snapshot_date", "channel"))}
</body></html>
"""
        (building / "report.html").write_text(page, encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        building.rename(target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
