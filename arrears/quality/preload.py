"""Import Great Expectations on a side thread while ingest reads the landing files.

The import is ~4 s of pure Python in a fresh process. Ingest spends its time inside DuckDB,
which releases the GIL, so the two overlap and validation starts with GX already loaded.
`wait()` is called before anything else imports GX, so the main thread never imports it
concurrently with the side thread.
"""

from __future__ import annotations

import logging
import sys
import threading

log = logging.getLogger(__name__)

_thread: threading.Thread | None = None


def start() -> None:
    """Begin the import in the background (once per process; a no-op if already imported)."""
    global _thread
    if _thread is not None or "great_expectations" in sys.modules:
        return
    _thread = threading.Thread(target=_load, name="gx-preload", daemon=True)
    _thread.start()


def wait() -> None:
    """Block until the background import (if any) has finished."""
    if _thread is not None:
        _thread.join()


def _load() -> None:
    try:
        from arrears.quality import gx_duckdb

        gx_duckdb.install()
    except Exception:  # the validating step imports again and reports the real error
        log.debug("preloading Great Expectations failed", exc_info=True)
