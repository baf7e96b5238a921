"""Channel outbox files for one action date: `<outbox>/<action_date>/<channel>.parquet|csv`
plus `_manifest.json`, assembled beside the published set and swapped in atomically.

Rows come from marts.collection_actions; personal data is joined from raw.customers of the
action's snapshot date at publish time, its sealed records opened in memory for this publish
only (arrears/pii/publishing.py), and reaches only the files of the channels that need it
(arrears/publish/columns.py). DuckDB's COPY writes every file: rows never pass through Python.
"""

from __future__ import annotations

import codecs
import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from arrears import faults
from arrears.errors import ArrearsError, ConfigError
from arrears.pii.keys import PiiKey
from arrears.pii.publishing import recipients_opened
from arrears.publish import agency
from arrears.publish.columns import (
    OUTBOX_CHANNELS,
    channel_columns,
    channel_schema,
    check_personal_columns,
)
from arrears.publish.folders import (
    aside_folder,
    carry_subset,
    date_lock,
    fsync_path,
    recover_date,
    swap_in,
    temp_folder,
)
from arrears.publish.manifest import (
    MANIFEST_NAME,
    Manifest,
    ManifestFile,
    ManifestSchema,
    file_sha256,
)
from arrears.warehouse import sql_text

# Fixed writer options: Parquet bytes depend on them (and on the DuckDB version, which the
# file records in created_by), so they are spelled out rather than left to defaults.
PARQUET_OPTIONS = "format parquet, compression zstd, row_group_size 122880"
CSV_OPTIONS = "format csv, header true, delimiter ',', quote '\"', escape '\"', null ''"
ORDER_BY = "priority, action_id"
# The subfolder of a date where the same-day cancellations are published (publish/cancel.py).
CANCEL_SUBSET = "cancel"
_TRANSCODE_CHUNK = 1 << 20

# A hook called at named points of a publish ("wrote:<file>", "before_manifest",
# "before_swap"): the seam through which tests inject failures.
StepHook = Callable[[str], None]


class OutboxEncodingError(ArrearsError):
    """A CSV value cannot be represented in the configured encoding."""


def _iso_local(column: str) -> str:
    """SQL rendering a TIMESTAMPTZ column as ISO 8601 in the action's time zone with its offset
    (2025-07-01T08:00:00+08:00), independent of the session's TimeZone setting."""
    local = f"({column} at time zone timezone)"
    offset = f"(epoch({local}) - epoch({column} at time zone 'UTC'))::bigint"
    return (
        f"strftime({local}, '%Y-%m-%dT%H:%M:%S')"
        f" || case when {offset} < 0 then '-' else '+' end"
        f" || lpad((abs({offset}) // 3600)::varchar, 2, '0')"
        f" || ':' || lpad(((abs({offset}) % 3600) // 60)::varchar, 2, '0')"
    )


# CSV has no list or zoned-timestamp type: these columns are rendered as text.
CSV_EXPRESSIONS: dict[str, str] = {
    "loan_ids": "array_to_string(loan_ids, ';')",
    "window_start": _iso_local("window_start"),
    "window_end": _iso_local("window_end"),
}


def publish_outbox(
    con: duckdb.DuckDBPyConnection,
    action_date: date,
    outbox: Path,
    run_id: str,
    csv_channels: Iterable[str],
    csv_encoding: str = "utf-8",
    *,
    on_step: StepHook | None = None,
    key: PiiKey | None = None,
) -> Manifest:
    """Write the outbox set of `action_date` and make it visible at once; returns its manifest.

    Reads the committed marts.collection_actions of that date (the caller decides whether the
    date may be published). Rerunning gives byte-identical data files. `key` opens the
    recipients' sealed personal data.
    """
    outbox = Path(outbox)
    csv_set = _csv_channels(csv_channels)
    encoding = _encoding(csv_encoding)
    step = on_step or (lambda _name: None)
    params = {"action_date": action_date}

    summary = con.execute(sql_text("publish/outbox_summary"), params).fetchall()
    snapshot_dates = sorted({row[0] for row in summary})
    if len(snapshot_dates) > 1:
        raise ArrearsError(
            f"marts.collection_actions for action date {action_date} mixes snapshot dates "
            f"{', '.join(d.isoformat() for d in snapshot_dates)}; refusing to publish"
        )
    if csv_set and any(row[4] for row in summary):
        raise ArrearsError(
            f"a loan_id of action date {action_date} contains ';', the CSV list separator"
        )
    snapshot_date = snapshot_dates[0] if snapshot_dates else action_date - timedelta(days=1)
    variants: Counter[str] = Counter()
    for _snapshot, _version, variant, actions, _bad in summary:
        variants[variant] += actions

    outbox.mkdir(parents=True, exist_ok=True)
    with date_lock(outbox, action_date), recipients_opened(con, action_date, key):
        recover_date(outbox, action_date)
        tmp = temp_folder(outbox, action_date, run_id)
        tmp.mkdir()
        try:
            files: list[ManifestFile] = []
            schemas: list[ManifestSchema] = []
            for channel in OUTBOX_CHANNELS:
                schemas.append(_write_schema(tmp, channel))
                files.append(_write_parquet(con, tmp, channel, params))
                step(f"wrote:{files[-1].name}")
                if channel in csv_set:
                    files.append(_write_csv(con, tmp, channel, params, encoding, csv_encoding))
                    step(f"wrote:{files[-1].name}")
            for agency_id in agency.agencies_of(con, action_date):
                files.append(_write_agency(con, tmp, agency_id, params))
                step(f"wrote:{files[-1].name}")
            manifest = Manifest(
                run_id=run_id,
                snapshot_date=snapshot_date,
                action_date=action_date,
                generated_at=datetime.now(UTC),
                strategy_versions=tuple(sorted({row[1] for row in summary})),
                variant_counts=dict(sorted(variants.items())),
                files=tuple(files),
                schemas=tuple(schemas),
            )
            step("before_manifest")
            _write_text_durably(tmp / MANIFEST_NAME, manifest.to_json())
            # The day's cancellations (published during the day, beside this set) stay.
            carry_subset(outbox / action_date.isoformat(), tmp, CANCEL_SUBSET)
            fsync_path(tmp)
            step("before_swap")
            faults.checkpoint("publish:before-swap")
            swap_in(
                tmp,
                outbox / action_date.isoformat(),
                aside_folder(outbox, action_date, run_id),
            )
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return manifest


def _rows_query(channel: str, rendering: dict[str, str] | None = None) -> str:
    """The ordered SELECT of a channel's file; `rendering` maps columns to SQL expressions."""
    columns = channel_columns(channel)
    check_personal_columns(channel, columns)
    rendering = rendering or {}
    select_list = [f"{rendering[c]} as {c}" if c in rendering else c for c in columns]
    return (
        f"select {', '.join(select_list)} "
        f"from ({sql_text('publish/outbox_rows')}) as outbox_rows "
        f"order by {ORDER_BY}"
    )


def _copy(
    con: duckdb.DuckDBPyConnection, query: str, path: Path, options: str, params: dict
) -> int:
    target = str(path).replace("'", "''")
    row = con.execute(f"copy ({query}) to '{target}' ({options})", params).fetchone()
    return int(row[0]) if row else 0


def _write_parquet(
    con: duckdb.DuckDBPyConnection, folder: Path, channel: str, params: dict
) -> ManifestFile:
    path = folder / f"{channel}.parquet"
    query = _rows_query(channel)
    rows = _copy(con, query, path, PARQUET_OPTIONS, {**params, "channel": channel.upper()})
    return _entry(path, channel, "parquet", rows, None)


def _write_agency(
    con: duckdb.DuckDBPyConnection, folder: Path, agency_id: str, params: dict
) -> ManifestFile:
    path = agency.agency_file(folder, agency_id)
    path.parent.mkdir(exist_ok=True)
    rows = _copy(
        con, agency.rows_query(), path, PARQUET_OPTIONS, {**params, "agency_id": agency_id}
    )
    entry = _entry(path, agency.SUBSET, "parquet", rows, None)
    return replace(entry, name=f"{agency.SUBSET}/{path.name}")


def _write_csv(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    channel: str,
    params: dict,
    encoding: str,
    configured: str,
) -> ManifestFile:
    path = folder / f"{channel}.csv"
    query = _rows_query(channel, CSV_EXPRESSIONS)
    bound = {**params, "channel": channel.upper()}
    if encoding == "utf-8":
        rows = _copy(con, query, path, CSV_OPTIONS, bound)
    else:
        # DuckDB writes UTF-8 only; the file is re-encoded in a streaming pass.
        utf8 = folder / f".{channel}.csv.utf8"
        rows = _copy(con, query, utf8, CSV_OPTIONS, bound)
        _transcode(utf8, path, encoding, configured, channel)
        utf8.unlink()
    return _entry(path, channel, "csv", rows, encoding)


def _transcode(source: Path, target: Path, encoding: str, configured: str, channel: str) -> None:
    try:
        with (
            source.open("r", encoding="utf-8", newline="") as reader,
            target.open("w", encoding=encoding, newline="") as writer,
        ):
            while chunk := reader.read(_TRANSCODE_CHUNK):
                writer.write(chunk)
    except UnicodeEncodeError as error:
        # The offending value may be personal data: report where, never what.
        raise OutboxEncodingError(
            f"{channel}.csv: a value cannot be written in {configured} "
            f"(character {error.start} of a {_TRANSCODE_CHUNK}-character block); "
            "choose an encoding that covers it, e.g. gb18030 or utf-8"
        ) from None


def _write_schema(folder: Path, channel: str) -> ManifestSchema:
    """`<channel>.schema.json`: the columns and types of the channel's files, every day."""
    path = folder / f"{channel}.schema.json"
    text = json.dumps(channel_schema(channel), indent=2, ensure_ascii=False) + "\n"
    _write_text_durably(path, text)
    sha256, size = file_sha256(path)
    return ManifestSchema(name=path.name, channel=channel.upper(), sha256=sha256, bytes=size)


def _entry(path: Path, channel: str, fmt: str, rows: int, encoding: str | None) -> ManifestFile:
    fsync_path(path)
    sha256, size = file_sha256(path)
    return ManifestFile(
        name=path.name,
        channel=channel.upper(),
        format=fmt,
        rows=rows,
        sha256=sha256,
        bytes=size,
        encoding=encoding,
    )


def _write_text_durably(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _csv_channels(channels: Iterable[str]) -> set[str]:
    chosen = {c.strip().lower() for c in channels if c.strip()}
    unknown = sorted(chosen - set(OUTBOX_CHANNELS))
    if unknown:
        raise ConfigError(
            f"unknown CSV channel(s) {', '.join(unknown)}; expected some of "
            f"{', '.join(OUTBOX_CHANNELS)}"
        )
    return chosen


def _encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ConfigError(
            f"unknown CSV encoding {name!r}; use a Python codec name such as utf-8 or gb18030"
        ) from None
