"""The key of the personal columns: where it comes from, its id, and the check that it fits.

The key is 32 random bytes (AES-256-GCM), given as base64 in ARREARS_PII_KEY or in a key file
(ARREARS_PII_KEY_FILE, default `pii.key` beside the warehouse). The first run that needs a key
and finds none creates the file with owner-only permissions and says where it is: it belongs
in a secret store, not beside the data it protects.

Every sealed row stores the id of its key (the first 8 hex digits of the key's SHA-256), so a
warehouse tells which key it needs without holding it. A run whose key is missing or is not
the one the stored rows were sealed with stops with ConfigError (exit 2) before it reads or
writes anything (`require_key`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from arrears.errors import ConfigError

if TYPE_CHECKING:
    import duckdb

    from arrears.settings import Settings

log = logging.getLogger(__name__)

KEY_BYTES = 32
# A rotation writes the new key here first; it replaces the key file once the re-sealed rows
# are committed (arrears/pii/rotation.py).
PENDING_SUFFIX = ".new"


@dataclass(frozen=True)
class PiiKey:
    """A key and its id; the bytes never appear in repr, logs or messages."""

    secret: bytes = field(repr=False)
    key_id: str = ""

    @classmethod
    def from_bytes(cls, secret: bytes) -> PiiKey:
        if len(secret) != KEY_BYTES:
            raise ConfigError(
                f"the personal-data key must be {KEY_BYTES} bytes (base64), not {len(secret)}"
            )
        return cls(secret, key_id_of(secret))

    @classmethod
    def generate(cls) -> PiiKey:
        return cls.from_bytes(secrets.token_bytes(KEY_BYTES))

    def aead(self) -> AESGCM:
        return AESGCM(self.secret)

    def encoded(self) -> str:
        return base64.b64encode(self.secret).decode("ascii")


def key_id_of(secret: bytes) -> str:
    """The id stored beside each sealed value: names the key without revealing it."""
    return hashlib.sha256(secret).hexdigest()[:8]


def decode(text: str, where: str) -> PiiKey:
    try:
        secret = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{where} is not base64 of a {KEY_BYTES}-byte key") from None
    return PiiKey.from_bytes(secret)


def read_key_file(path: Path) -> PiiKey | None:
    if not path.is_file():
        return None
    return decode(path.read_text(encoding="ascii", errors="replace"), f"key file {path}")


def write_key_file(path: Path, key: PiiKey) -> None:
    """Create `path` holding `key`, readable by its owner only; never overwrites."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.encoded() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def configured_key(settings: Settings) -> PiiKey | None:
    """The key the settings give (ARREARS_PII_KEY, else the key file), or None."""
    if settings.pii_key is not None:
        return decode(settings.pii_key.get_secret_value(), "ARREARS_PII_KEY")
    return read_key_file(settings.pii_key_path())


def create_key(settings: Settings) -> PiiKey:
    """A new key in the key file, with the warning an operator must act on."""
    path = settings.pii_key_path()
    key = PiiKey.generate()
    write_key_file(path, key)
    log.warning(
        "created the personal-data key %s (key id %s, owner-only permissions). It belongs in "
        "a secret store: move it there and set ARREARS_PII_KEY or ARREARS_PII_KEY_FILE; "
        "without it the personal data of the warehouse cannot be read (docs/privacy.md)",
        path.resolve(),
        key.key_id,
    )
    return key


def stored_key_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The ids of the keys raw.customers is sealed with (none before the first sealed row)."""
    has_column = con.execute(
        "select count(*) from information_schema.columns where table_schema = 'raw' "
        "and table_name = 'customers' and column_name = 'pii_key_id'"
    ).fetchall()[0][0]
    if not has_column:
        return set()
    rows = con.execute(
        "select distinct pii_key_id from raw.customers where pii_key_id is not null"
    ).fetchall()
    return {key_id for (key_id,) in rows}


def check_key(con: duckdb.DuckDBPyConnection, key: PiiKey | None, where: str) -> None:
    """ConfigError unless `key` opens the sealed rows of the warehouse behind `con`."""
    from arrears.pii.sealing import open_one

    stored = stored_key_ids(con)
    if not stored:
        return
    if key is None:
        raise ConfigError(
            f"{where} holds personal data sealed with key {', '.join(sorted(stored))}, and no "
            "key was given: set ARREARS_PII_KEY or ARREARS_PII_KEY_FILE; nothing was read or "
            "written"
        )
    if stored != {key.key_id} or not open_one(con, key):
        raise ConfigError(
            f"{where} holds personal data sealed with key {', '.join(sorted(stored))}, not "
            f"with the given key ({key.key_id}): give the key the warehouse was sealed with; "
            "nothing was read or written"
        )


def require_key(settings: Settings) -> PiiKey:
    """The key for a run on `settings.warehouse`, checked before the run touches anything.

    Finishes a rotation that committed but was stopped before its key file was put in place,
    creates the key at the first run, and raises ConfigError (exit 2) for a missing or wrong
    key of a warehouse that holds sealed rows.
    """
    from arrears.pii.rotation import finish_pending

    key = configured_key(settings)
    stored: set[str] = set()
    if settings.warehouse.is_file():
        from arrears import warehouse

        con = warehouse.connect(
            settings.warehouse, read_only=True, wait_seconds=settings.lock_timeout_seconds
        )
        try:
            stored = stored_key_ids(con)
            key = finish_pending(settings, key, stored)
            check_key(con, key, str(settings.warehouse))
        finally:
            con.close()
    if key is None:
        key = create_key(settings)
    return key


def key_for_run(settings: Settings) -> PiiKey:
    """The key a run seals and publishes with: the configured one, else a new key file (the
    first run of a warehouse). require_key has checked it against the warehouse already."""
    return configured_key(settings) or create_key(settings)
