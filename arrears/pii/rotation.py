"""`arrears rotate-key`: every sealed row under a new key, in one transaction.

Order, so that a kill at any point leaves a key that opens the warehouse:
  1. the new key is written to `<key file>.new` (owner-only), the old key file untouched;
  2. one transaction re-seals every row of raw.customers with the new key and commits;
  3. the new key file replaces the old one (an atomic rename).
Killed before 2 commits: the rows are still sealed with the old key, which is still the key
file; the stray `.new` file is removed by the next rotation. Killed between 2 and 3: the rows
are sealed with the new key, and the next run (`require_key`) finds the pending file whose key
id is the stored one and completes step 3 before anything else.

Keys given in ARREARS_PII_KEY are not rotated here: the new key would have to reach the
secret store that holds the old one, which the pipeline cannot write.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from arrears import faults
from arrears.errors import ConfigError
from arrears.pii.keys import PENDING_SUFFIX, PiiKey, check_key, read_key_file, write_key_file

if TYPE_CHECKING:
    from arrears.settings import Settings

log = logging.getLogger(__name__)


def pending_path(settings: Settings) -> Path:
    path = settings.pii_key_path()
    return path.with_name(path.name + PENDING_SUFFIX)


def finish_pending(settings: Settings, key: PiiKey | None, stored: set[str]) -> PiiKey | None:
    """The key to use, after putting a committed rotation's pending key file in place."""
    pending = pending_path(settings)
    if settings.pii_key is not None or not pending.is_file():
        return key
    new = read_key_file(pending)
    if new is not None and stored == {new.key_id} and (key is None or key.key_id != new.key_id):
        os.replace(pending, settings.pii_key_path())
        log.warning("completed the rotation to key %s stopped after its commit", new.key_id)
        return new
    return key


def rotate_key(settings: Settings) -> tuple[str, str, int]:
    """Re-seal raw.customers under a new key; returns (old id, new id, rows re-sealed)."""
    from arrears import warehouse
    from arrears.pii.keys import require_key
    from arrears.pii.sealing import reseal_table

    if settings.pii_key is not None:
        raise ConfigError(
            "the key comes from ARREARS_PII_KEY: rotate-key rotates a key file "
            "(ARREARS_PII_KEY_FILE); nothing was read or written"
        )
    old = require_key(settings)
    pending = pending_path(settings)
    pending.unlink(missing_ok=True)  # a rotation that stopped before its commit
    new = PiiKey.generate()
    write_key_file(pending, new)
    with warehouse.run_lock(settings.warehouse, settings.lock_timeout_seconds, "rotate-key"):
        with settings.open_warehouse() as con:
            check_key(con, old, str(settings.warehouse))
            with warehouse.transaction(con):
                rows = reseal_table(con, "raw.customers", old, new)
                faults.checkpoint("rotate-key:before-commit")
    faults.checkpoint("rotate-key:after-commit")
    os.replace(pending, settings.pii_key_path())
    return old.key_id, new.key_id, rows
