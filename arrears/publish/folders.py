"""Atomic replacement of one action date's outbox folder, and recovery after a crash.

Layout under the outbox root (dot-names are private; readers ignore them):
  <action_date>/                  the published set (complete: it has _manifest.json)
  .<action_date>.tmp-<run_id>/    a set being assembled, or the old set just swapped out
  .<action_date>.old-<run_id>/    the old set moved aside (fallback swap only)
  .<action_date>.lock             held while a publish or recovery of that date runs

Swap: on Linux, renameat2(RENAME_EXCHANGE) exchanges the new folder and the published one in a
single step, so a reader never finds the date missing. Elsewhere (or on file systems without
it) two renames: published -> .old, new -> published; between them the date is briefly absent,
which a reader treats like a folder without a manifest (not yet published).

Recovery rule (at the start of every publish of a date, or `recover_outbox`): when
`<action_date>/` is missing but a `.old-*` folder exists, the crash came between the two renames,
so the old set is renamed back; then every `.tmp-*` and `.old-*` of the date is removed. A
leftover never becomes visible: only a publish that finished its swap changes what readers see.

Subsets: a date folder may hold a set of its own that another publisher keeps up to date during
the day (`<action_date>/cancel/`, the same-day cancellations). It is swapped in the same way,
inside the date folder (`<action_date>/.cancel.tmp-<run_id>/`, `.cancel.old-<run_id>/`, under
the same date lock), and recovered by the same rule (`recover_subset`). A publish of the whole
date carries the published subset over into its new folder (`carry_subset`, hard links: a
published file is never rewritten in place), so swapping the date in leaves the subset as it was.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from arrears import faults
from arrears.errors import ArrearsError

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_LEFTOVER = re.compile(r"^\.(\d{4}-\d{2}-\d{2})\.(tmp|old)-.+$")


class OutboxBusy(ArrearsError):
    """Another process is publishing the same action date."""


def safe_token(run_id: str) -> str:
    """run_id as a file-name part (no separators or dots at the ends)."""
    token = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id).strip(".")
    if not token:
        raise ValueError("run_id must not be empty")
    return token


def temp_folder(outbox: Path, action_date: date, run_id: str) -> Path:
    return outbox / f".{action_date.isoformat()}.tmp-{safe_token(run_id)}"


def aside_folder(outbox: Path, action_date: date, run_id: str) -> Path:
    return outbox / f".{action_date.isoformat()}.old-{safe_token(run_id)}"


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's entry to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def date_lock(outbox: Path, action_date: date) -> Iterator[None]:
    """One publisher per outbox and action date, across processes."""
    outbox.mkdir(parents=True, exist_ok=True)
    fd = os.open(outbox / f".{action_date.isoformat()}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutboxBusy(
                f"another process is publishing {action_date} into {outbox}; "
                "wait for it to finish and rerun"
            ) from None
        yield
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two folders; False when the platform cannot."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def swap_in(new: Path, target: Path, aside: Path) -> None:
    """Make `new` visible as `target`; the previous `target` (if any) is removed afterwards."""
    parent = target.parent
    if not target.exists():
        os.rename(new, target)
    elif _exchange(new, target):
        # `new` now holds the previous set.
        fsync_path(parent)
        faults.checkpoint("publish:exchanged")
        shutil.rmtree(new)
    else:
        os.rename(target, aside)
        os.rename(new, target)
        fsync_path(parent)
        shutil.rmtree(aside)
    fsync_path(parent)


def recover_date(outbox: Path, action_date: date) -> list[str]:
    """Apply the recovery rule to one date (caller holds the date lock); returns what it did."""
    done: list[str] = []
    target = outbox / action_date.isoformat()
    prefix = f".{action_date.isoformat()}."
    leftovers = sorted(
        (p for p in outbox.iterdir() if p.name.startswith(prefix) and _LEFTOVER.match(p.name)),
        key=lambda p: p.stat().st_mtime_ns,
    )
    if not target.exists():
        aside = [p for p in leftovers if p.name.startswith(prefix + "old-")]
        if aside:
            os.rename(aside[-1], target)
            done.append(f"restored {target.name} from {aside[-1].name}")
            leftovers.remove(aside[-1])
    for path in leftovers:
        shutil.rmtree(path)
        done.append(f"removed {path.name}")
    if done:
        fsync_path(outbox)
    return done


def subset_temp_folder(day_folder: Path, name: str, run_id: str) -> Path:
    return day_folder / f".{name}.tmp-{safe_token(run_id)}"


def subset_aside_folder(day_folder: Path, name: str, run_id: str) -> Path:
    return day_folder / f".{name}.old-{safe_token(run_id)}"


def recover_subset(day_folder: Path, name: str) -> list[str]:
    """The recovery rule for the subset `<day_folder>/<name>/` (caller holds the date lock)."""
    if not day_folder.is_dir():
        return []
    done: list[str] = []
    target = day_folder / name
    leftovers = sorted(
        (
            p
            for p in day_folder.iterdir()
            if p.is_dir() and p.name.startswith((f".{name}.tmp-", f".{name}.old-"))
        ),
        key=lambda p: p.stat().st_mtime_ns,
    )
    if not target.exists():
        aside = [p for p in leftovers if p.name.startswith(f".{name}.old-")]
        if aside:
            os.rename(aside[-1], target)
            done.append(f"restored {day_folder.name}/{name} from {aside[-1].name}")
            leftovers.remove(aside[-1])
    for path in leftovers:
        shutil.rmtree(path)
        done.append(f"removed {day_folder.name}/{path.name}")
    if done:
        fsync_path(day_folder)
    return done


def carry_subset(published: Path, new: Path, name: str) -> bool:
    """Put the published subset `<published>/<name>/` into the folder `new` that is about to
    replace `published`; returns whether there was one. Caller holds the date lock."""
    recover_subset(published, name)
    source = published / name
    if not source.is_dir():
        return False

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, new / name, copy_function=link)
    fsync_path(new / name)
    fsync_path(new)
    return True


def recover_outbox(outbox: Path, action_date: date | None = None) -> list[str]:
    """Recover leftovers of interrupted publishes: of one date, or of every date when None."""
    outbox = Path(outbox)
    if not outbox.is_dir():
        return []
    if action_date is not None:
        dates = {action_date}
    else:
        dates = {
            date.fromisoformat(m.group(1))
            for p in outbox.iterdir()
            if (m := _LEFTOVER.match(p.name))
        }
    done: list[str] = []
    for day in sorted(dates):
        with date_lock(outbox, day):
            done += recover_date(outbox, day)
    return done
