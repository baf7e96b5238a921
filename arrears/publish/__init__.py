"""Publishing: channel outbox files with a manifest, and the PostgreSQL sink (CONTRACT 6, 7)."""

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
