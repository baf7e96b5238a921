"""Reading one published outbox set consistently: what docs/outbox.md asks of a consumer.

The date folder is opened once (a directory descriptor) and the manifest and every file it
lists are opened through it, then each file is checked against the manifest's size and sha256.
A rerun swaps a new folder in and deletes the old one: a file already open stays readable, one
not yet open is gone or differs, and the read starts again on the new set. What a reader gets
is always one complete set, the one its manifest describes, never files of two runs.

Types: Parquet carries its own; CSV is read as text and cast with the channel's schema file
(`<channel>.schema.json`), so amounts are decimals, postal codes strings and dates dates every
day, an empty file included.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

import polars as pl

from arrears.publish.manifest import MANIFEST_NAME, Manifest, OutboxIncomplete

ATTEMPTS = 5
_CHUNK = 1 << 20
# The schema files' types as polars dtypes.
POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "date": pl.Date(),
    "int32": pl.Int32(),
    "decimal(18,2)": pl.Decimal(18, 2),
    "timestamp(us,UTC)": pl.Datetime("us", "UTC"),
    "list<string>": pl.List(pl.String()),
}


@dataclass
class OutboxSet:
    """One verified set: its manifest and a handle on every file it lists (and its schemas)."""

    folder: Path
    manifest: Manifest
    handles: dict[str, IO[bytes]]

    def raw(self, name: str) -> bytes:
        """The bytes of a listed file, as checked against the manifest."""
        handle = self._handle(name)
        handle.seek(0)
        return handle.read()

    def schema(self, channel: str) -> dict[str, Any]:
        """The channel's schema file, parsed."""
        data: dict[str, Any] = json.loads(self.raw(f"{channel.lower()}.schema.json"))
        return data

    def frame(self, channel: str, fmt: str = "parquet") -> pl.DataFrame:
        """The channel's file as a polars frame with the schema's types (CSV cast from text)."""
        name = f"{channel.lower()}.{fmt}"
        data = self.raw(name)
        if fmt == "parquet":
            return pl.read_parquet(io.BytesIO(data))
        if fmt != "csv":
            raise ValueError(f"unknown outbox format {fmt!r}; expected parquet or csv")
        encoding = self.manifest.file(name).encoding or "utf-8"
        columns = self.schema(channel)["columns"]
        text = pl.read_csv(
            io.BytesIO(data.decode(encoding).encode("utf-8")),
            schema={c["name"]: pl.String() for c in columns},
        )
        return text.select(_cast(c["name"], c["type"]) for c in columns)

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()
        self.handles.clear()

    def _handle(self, name: str) -> IO[bytes]:
        try:
            return self.handles[name]
        except KeyError:
            raise KeyError(f"the manifest of {self.folder} lists no file {name!r}") from None


def _cast(name: str, kind: str) -> pl.Expr:
    column = pl.col(name)
    if kind == "list<string>":
        return column.str.split(";").alias(name)
    if kind == "timestamp(us,UTC)":
        return column.str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_unit="us").dt.convert_time_zone(
            "UTC"
        )
    if kind == "date":
        return column.str.to_date("%Y-%m-%d")
    if kind == "string":
        return column
    return column.cast(POLARS_TYPES[kind], strict=True)


@contextmanager
def read_outbox(
    outbox: Path, action_date: date, *, between: Callable[[int], None] | None = None
) -> Iterator[OutboxSet]:
    """Open the published set of `action_date` and keep it open for the block.

    Raises OutboxIncomplete when the date is not published (no folder or no manifest) or when
    reruns kept replacing it for ATTEMPTS tries. `between(attempt)` runs after the manifest is
    read and before the files are opened: the seam where tests swap a rerun in."""
    folder = Path(outbox) / action_date.isoformat()
    reason = ""
    for attempt in range(ATTEMPTS):
        opened = _open_set(folder, attempt, between)
        if isinstance(opened, OutboxSet):
            try:
                yield opened
            finally:
                opened.close()
            return
        reason = opened
        time.sleep(0.05 * (attempt + 1))
    raise OutboxIncomplete(f"{folder}: {reason} (after {ATTEMPTS} attempts)")


def _open_set(folder: Path, attempt: int, between: Callable[[int], None] | None) -> OutboxSet | str:
    """The set in `folder` opened and verified, or why not (to try again)."""
    try:
        directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return "not published (no folder)"
    handles: dict[str, IO[bytes]] = {}
    try:
        try:
            manifest = Manifest.from_dict(json.loads(_read_at(directory, MANIFEST_NAME)))
        except FileNotFoundError:
            return f"incomplete (no {MANIFEST_NAME})"
        if between is not None:
            between(attempt)
        for name, sha256, size in manifest.checked():
            try:
                opened_file: IO[bytes] = os.fdopen(
                    os.open(name, os.O_RDONLY, dir_fd=directory), "rb"
                )
            except FileNotFoundError:
                return f"{name} is gone: the set was replaced while it was opened"
            handles[name] = opened_file
            if _digest(opened_file) != (sha256, size):
                return f"{name} differs from the manifest"
        opened = OutboxSet(folder, manifest, handles)
        handles = {}
        return opened
    finally:
        for leftover in handles.values():
            leftover.close()
        os.close(directory)


def _read_at(directory: int, name: str) -> bytes:
    with os.fdopen(os.open(name, os.O_RDONLY, dir_fd=directory), "rb") as handle:
        return handle.read()


def _digest(handle: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    handle.seek(0)
    return digest.hexdigest(), size
