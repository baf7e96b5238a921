"""`_manifest.json`: what an outbox folder holds, written last, and how a reader checks it.

A folder without a manifest is incomplete. The data files never hold run-varying values, so a
rerun of the same date gives byte-identical files; only `run_id` and `generated_at` differ between
two manifests of the same content, and `content_sha256` (over file names and checksums) stays equal.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

MANIFEST_NAME = "_manifest.json"
# 2: `schemas` lists the schema file of each channel; channels in upper case.
MANIFEST_VERSION = 2
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ManifestFile:
    name: str
    channel: str
    format: str  # parquet or csv
    rows: int
    sha256: str
    bytes: int
    encoding: str | None = None  # csv only

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "channel": self.channel,
            "format": self.format,
            "rows": self.rows,
            "sha256": self.sha256,
            "bytes": self.bytes,
        }
        if self.encoding is not None:
            data["encoding"] = self.encoding
        return data


@dataclass(frozen=True)
class ManifestSchema:
    """A channel's `<channel>.schema.json`: checked like a data file, outside content_sha256
    (the schema of a channel is the same every day; its data files say what changed)."""

    name: str
    channel: str
    sha256: str
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "channel": self.channel,
            "sha256": self.sha256,
            "bytes": self.bytes,
        }


@dataclass(frozen=True)
class Manifest:
    run_id: str
    snapshot_date: date
    action_date: date
    generated_at: datetime
    strategy_versions: tuple[str, ...]
    variant_counts: dict[str, int]
    files: tuple[ManifestFile, ...]
    manifest_version: int = field(default=MANIFEST_VERSION)
    schemas: tuple[ManifestSchema, ...] = ()

    @property
    def content_sha256(self) -> str:
        """Identifies the published content: equal for two runs that wrote the same files."""
        digest = hashlib.sha256()
        for f in sorted(self.files, key=lambda f: f.name):
            digest.update(f"{f.name}\t{f.sha256}\n".encode())
        return digest.hexdigest()

    def checked(self) -> list[tuple[str, str, int]]:
        """(name, sha256, bytes) of every file a reader checks: data files and schema files."""
        return [(f.name, f.sha256, f.bytes) for f in self.files] + [
            (f.name, f.sha256, f.bytes) for f in self.schemas
        ]

    def file(self, name: str) -> ManifestFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(f"the manifest lists no file {name!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "manifest_version": self.manifest_version,
            "run_id": self.run_id,
            "snapshot_date": self.snapshot_date.isoformat(),
            "action_date": self.action_date.isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "strategy_versions": list(self.strategy_versions),
            "variant_counts": dict(sorted(self.variant_counts.items())),
            "content_sha256": self.content_sha256,
            "files": [f.to_dict() for f in self.files],
            "schemas": [f.to_dict() for f in self.schemas],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        return cls(
            manifest_version=int(data["manifest_version"]),
            run_id=data["run_id"],
            snapshot_date=date.fromisoformat(data["snapshot_date"]),
            action_date=date.fromisoformat(data["action_date"]),
            generated_at=datetime.fromisoformat(data["generated_at"]),
            strategy_versions=tuple(data["strategy_versions"]),
            variant_counts={k: int(v) for k, v in data["variant_counts"].items()},
            files=tuple(
                ManifestFile(
                    name=f["name"],
                    channel=f["channel"],
                    format=f["format"],
                    rows=int(f["rows"]),
                    sha256=f["sha256"],
                    bytes=int(f["bytes"]),
                    encoding=f.get("encoding"),
                )
                for f in data["files"]
            ),
            # version 1 manifests (before schema files) have none
            schemas=tuple(
                ManifestSchema(
                    name=f["name"], channel=f["channel"], sha256=f["sha256"], bytes=int(f["bytes"])
                )
                for f in data.get("schemas", ())
            ),
        )

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        return cls.from_dict(json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8")))


class OutboxIncomplete(Exception):
    """An outbox folder that a reader must not consume (no manifest, or files that differ)."""


def file_sha256(path: Path) -> tuple[str, int]:
    """sha256 hex digest and size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def verify_outbox(folder: Path) -> Manifest:
    """What a downstream reader does before consuming a folder: the manifest exists and every
    file it lists has its size and sha256. Raises OutboxIncomplete otherwise."""
    if not (folder / MANIFEST_NAME).is_file():
        raise OutboxIncomplete(f"{folder} has no {MANIFEST_NAME}: the set is incomplete")
    manifest = Manifest.read(folder)
    for name, expected_sha256, expected_bytes in manifest.checked():
        path = folder / name
        if not path.is_file():
            raise OutboxIncomplete(f"{path} is listed in the manifest but missing")
        sha256, size = file_sha256(path)
        if (sha256, size) != (expected_sha256, expected_bytes):
            raise OutboxIncomplete(f"{path} differs from the manifest (sha256 or size)")
    return manifest
