"""What ingest reports for a snapshot date: one LandedFile per dataset."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date


@dataclass
class LandedFile:
    dataset: str
    file: str | None
    sha256: str | None
    rows: int
    encoding: str | None = None
    carried_forward_from: str | None = None
    duplicates_ignored: int = 0
    ignored_columns: list[str] = field(default_factory=list)


@dataclass
class IngestSummary:
    snapshot_date: date
    files: dict[str, LandedFile]

    def rows(self) -> dict[str, int]:
        return {name: f.rows for name, f in self.files.items()}

    def as_json(self) -> dict[str, dict]:
        return {name: asdict(f) for name, f in self.files.items()}

    def sources(self) -> dict[str, str]:
        """Where each dataset's rows came from, as rejection messages name it."""
        named = {}
        for name, f in self.files.items():
            if f.file:
                named[name] = f.file
            elif f.carried_forward_from:
                named[name] = f"{name} (no file; carried forward from {f.carried_forward_from})"
        return named
