"""Outbox retention: the folders of action dates more than ARREARS_OUTBOX_KEEP_DAYS before the
night's action date are deleted (docs/CONTRACT.md section 8).

A folder leaves the way a replaced set does (arrears/publish/folders.py): under the date's lock
it is renamed, in one step, to the private name `.<date>.tmp-housekeeping-<run>`, so a reader
sees the complete set or none; it is removed once its deletion is recorded in ops.housekeeping.
A leftover of a kill in between is never made visible again (recovery restores only `.old-`
folders); the next housekeeping records it if the killed one could not, and removes it.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from arrears.publish.folders import date_lock, fsync_path, safe_token, temp_folder
from arrears.publish.manifest import MANIFEST_NAME

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TOKEN = "housekeeping-"
_HIDDEN = re.compile(r"^\.(\d{4}-\d{2}-\d{2})\.tmp-" + _TOKEN + r"(.+)$")


@dataclass(frozen=True)
class ExpiredFolder:
    action_date: date
    hidden: Path  # its private name, until removed
    run_token: str  # the run that hid it (as a file-name part)
    rows: int  # the actions its manifest lists (0 without a readable manifest)

    @property
    def target(self) -> str:
        return f"outbox/{self.action_date.isoformat()}"


def _folder_date(name: str) -> date | None:
    if not _DATE.match(name):
        return None
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None


def expired(outbox: Path, action_date: date, keep_days: int) -> list[date]:
    """Published action dates more than `keep_days` days before `action_date`, in order.

    The set of `action_date` itself and later ones are never expired."""
    outbox = Path(outbox)
    if not outbox.is_dir():
        return []
    found = []
    for path in outbox.iterdir():
        day = _folder_date(path.name)
        if day is not None and path.is_dir() and (action_date - day).days > keep_days:
            found.append(day)
    return sorted(found)


def manifest_rows(folder: Path) -> int:
    """The actions a published set holds (its Parquet files' rows; CSV copies not counted)."""
    try:
        files = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))["files"]
        return sum(int(f["rows"]) for f in files if f.get("format") == "parquet")
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def hide(outbox: Path, action_date: date, run_id: str) -> ExpiredFolder | None:
    """Take the published set of `action_date` out of readers' sight in one rename."""
    outbox = Path(outbox)
    with date_lock(outbox, action_date):
        target = outbox / action_date.isoformat()
        if not target.is_dir():
            return None
        rows = manifest_rows(target)
        hidden = temp_folder(outbox, action_date, _TOKEN + run_id)
        if hidden.exists():
            shutil.rmtree(hidden)
        target.rename(hidden)
        fsync_path(outbox)
    return ExpiredFolder(action_date, hidden, safe_token(run_id), rows)


def hidden_folders(outbox: Path) -> list[ExpiredFolder]:
    """Folders that an earlier housekeeping hid but did not remove (it was killed)."""
    outbox = Path(outbox)
    if not outbox.is_dir():
        return []
    found = []
    for path in outbox.iterdir():
        match = _HIDDEN.match(path.name)
        day = _folder_date(match.group(1)) if match else None
        if match and day is not None and path.is_dir():
            found.append(ExpiredFolder(day, path, match.group(2), manifest_rows(path)))
    return sorted(found, key=lambda f: (f.action_date, f.hidden.name))


def remove(outbox: Path, folder: ExpiredFolder) -> None:
    """Delete a hidden folder, and the date's lock file once nothing of the date is left."""
    outbox = Path(outbox)
    with date_lock(outbox, folder.action_date):
        if folder.hidden.exists():
            shutil.rmtree(folder.hidden)
        prefix = f".{folder.action_date.isoformat()}."
        rest = [
            p
            for p in outbox.iterdir()
            if p.name.startswith(prefix) and not p.name.endswith(".lock")
        ]
        if not rest and not (outbox / folder.action_date.isoformat()).exists():
            # Every run holds the warehouse run lock, so no other publisher waits on this file.
            (outbox / f"{prefix}lock").unlink(missing_ok=True)
        fsync_path(outbox)
