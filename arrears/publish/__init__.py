"""Publishing: channel outbox files with a manifest, and the PostgreSQL sink (CONTRACT 6, 7).

The names below are imported from their modules when first used (PEP 562), not with the
package: a command that needs only `arrears.publish.folders` (the outbox's swap, read before
Prefect starts) would otherwise import polars and psycopg on its way.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arrears.publish.cancel import cancel_folder, publish_cancellations
    from arrears.publish.columns import (
        ALLOWED_PERSONAL_COLUMNS,
        PersonalDataViolation,
        channel_columns,
        check_personal_columns,
        personal_columns_beyond,
    )
    from arrears.publish.folders import OutboxBusy, recover_outbox
    from arrears.publish.manifest import Manifest, ManifestFile, OutboxIncomplete, verify_outbox
    from arrears.publish.outbox import OutboxEncodingError, publish_outbox
    from arrears.publish.postgres_sink import sink_cancellations, sink_postgres
    from arrears.publish.reader import OutboxSet, read_outbox

_HOME = {
    "cancel": ("cancel_folder", "publish_cancellations"),
    "columns": (
        "ALLOWED_PERSONAL_COLUMNS",
        "PersonalDataViolation",
        "channel_columns",
        "check_personal_columns",
        "personal_columns_beyond",
    ),
    "folders": ("OutboxBusy", "recover_outbox"),
    "manifest": ("Manifest", "ManifestFile", "OutboxIncomplete", "verify_outbox"),
    "outbox": ("OutboxEncodingError", "publish_outbox"),
    "postgres_sink": ("sink_cancellations", "sink_postgres"),
    "reader": ("OutboxSet", "read_outbox"),
}
_MODULE_OF = {name: module for module, names in _HOME.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "ALLOWED_PERSONAL_COLUMNS",
    "Manifest",
    "ManifestFile",
    "OutboxBusy",
    "OutboxEncodingError",
    "OutboxIncomplete",
    "OutboxSet",
    "PersonalDataViolation",
    "cancel_folder",
    "channel_columns",
    "check_personal_columns",
    "personal_columns_beyond",
    "publish_cancellations",
    "publish_outbox",
    "read_outbox",
    "recover_outbox",
    "sink_cancellations",
    "sink_postgres",
    "verify_outbox",
]
