"""The cancel set of an action date: `<outbox>/<A>/cancel/<channel>.parquet` + `_manifest.json`.

Each `arrears cancel` call publishes the whole cumulative list from marts.cancelled_actions:
assembled in `<outbox>/<A>/.cancel.tmp-<run_id>/` (every channel's file, fsynced, then the
manifest) and swapped in as `<outbox>/<A>/cancel/` (arrears/publish/folders.py, the same atomic
exchange as the date's own set), under the date's lock, so it never interleaves with a publish
of the night's set of A (which carries this subfolder over). A reader sees the previous complete
cancel set or the new one. The data files hold no run-varying value: the same payments give
byte-identical files; only the manifest's run_id and generated_at change.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from arrears import faults
from arrears.publish.columns import OUTBOX_CHANNELS
from arrears.publish.folders import (
    date_lock,
    fsync_path,
    recover_subset,
    subset_aside_folder,
    subset_temp_folder,
    swap_in,
)
from arrears.publish.manifest import MANIFEST_NAME, Manifest, ManifestFile
from arrears.publish.outbox import (
    CANCEL_SUBSET,
    PARQUET_OPTIONS,
    _copy,
    _entry,
    _write_text_durably,
)
from arrears.warehouse import sql_text

# Columns of every cancel file, in order (sql/publish/cancel_rows.sql).
CANCEL_COLUMNS: tuple[str, ...] = (
    "action_id",
    "action_date",
    "customer_id",
    "stage",
    "reason",
    "covered_at",
    "covered_amount",
    "payment_ids",
)

# A hook called at named points ("wrote:<file>", "before_manifest", "before_swap").
StepHook = Callable[[str], None]


def cancel_folder(outbox: Path, action_date: date) -> Path:
    return Path(outbox) / action_date.isoformat() / CANCEL_SUBSET


def publish_cancellations(
    con: duckdb.DuckDBPyConnection,
    action_date: date,
    outbox: Path,
    run_id: str,
    *,
    on_step: StepHook | None = None,
) -> Manifest:
    """Write the cancel set of `action_date` from the committed marts.cancelled_actions and make
    it visible at once; returns its manifest."""
    outbox = Path(outbox)
    step = on_step or (lambda _name: None)
    params = {"action_date": action_date}
    summary = con.execute(sql_text("publish/cancel_summary"), params).fetchall()
    day_folder = outbox / action_date.isoformat()

    outbox.mkdir(parents=True, exist_ok=True)
    with date_lock(outbox, action_date):
        # The night may not have published the date yet: the subset then comes first.
        day_folder.mkdir(exist_ok=True)
        recover_subset(day_folder, CANCEL_SUBSET)
        tmp = subset_temp_folder(day_folder, CANCEL_SUBSET, run_id)
        tmp.mkdir()
        try:
            files: list[ManifestFile] = []
            for channel in OUTBOX_CHANNELS:
                files.append(_write_channel(con, tmp, channel, params))
                step(f"wrote:{files[-1].name}")
            manifest = Manifest(
                run_id=run_id,
                snapshot_date=action_date - timedelta(days=1),
                action_date=action_date,
                generated_at=datetime.now(UTC),
                strategy_versions=tuple(sorted({row[0] for row in summary})),
                variant_counts=_variant_counts(summary),
                files=tuple(files),
            )
            step("before_manifest")
            _write_text_durably(tmp / MANIFEST_NAME, manifest.to_json())
            fsync_path(tmp)
            step("before_swap")
            faults.checkpoint("cancel:before-swap")
            swap_in(
                tmp,
                day_folder / CANCEL_SUBSET,
                subset_aside_folder(day_folder, CANCEL_SUBSET, run_id),
            )
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return manifest


def _variant_counts(summary: list[tuple]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _version, variant, actions in summary:
        counts[variant] = counts.get(variant, 0) + int(actions)
    return dict(sorted(counts.items()))


def _write_channel(
    con: duckdb.DuckDBPyConnection, folder: Path, channel: str, params: dict
) -> ManifestFile:
    path = folder / f"{channel}.parquet"
    query = (
        f"select {', '.join(CANCEL_COLUMNS)} from ({sql_text('publish/cancel_rows')}) as rows "
        "order by action_id"
    )
    rows = _copy(con, query, path, PARQUET_OPTIONS, {**params, "channel": channel.upper()})
    return _entry(path, channel, "parquet", rows, None)
