"""Seal the personal columns of the run's customers before the commit copies them into raw."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task

from arrears import warehouse
from arrears.errors import ConfigError
from arrears.pii.keys import configured_key
from arrears.pii.sealing import seal_table
from arrears.settings import Settings


@task(name="seal-personal-data")
def seal_personal_data(snapshot_date: date, settings: Settings) -> int:
    # The decide models have read what they need (has_phone and the like) from the clear
    # scratch copy; from here on only the sealed records exist.
    key = configured_key(settings)
    if key is None:
        raise ConfigError("no personal-data key: set ARREARS_PII_KEY or ARREARS_PII_KEY_FILE")
    with settings.open_warehouse() as con, warehouse.transaction(con):
        sealed = seal_table(con, "work.customers", key)
    get_run_logger().info(
        "customers of %s: %d sealed with key %s", snapshot_date, sealed, key.key_id
    )
    return sealed
