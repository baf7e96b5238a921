"""A committed night's inputs read back typed, for `arrears simulate` (docs/models.md).

A committed night left its inputs typed: raw.<dataset> holds what ingest produced for it (the
carried-forward datasets, the contact events without those landed before, the quarantined rows
gone) while the night is kept, and the archive holds the same rows once it is not
(docs/CONTRACT.md section 8). Copying them into work.* costs a fraction of parsing and checking
the landing CSV files again, and gives what the night itself decided on. Only when neither holds
the night whole does the caller read the landing folder (arrears/restore.py, ingest).

Customers are never archived and raw.customers may be sealed: sealed records are opened with
the key, each distinct record once per simulation (a night carries the unchanged customers'
records from the night before, byte for byte), into a temporary table of the scratch database.
For an archived night, customers come from its landing file when it is still there, else from
the latest copy of each customer in raw.customers, as a replay of the night would read them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from arrears import archive, warehouse
from arrears.contract import DATASETS
from arrears.errors import ConfigError
from arrears.ingest import find_file, landing_folder, load_file
from arrears.pii.keys import PiiKey
from arrears.pii.sealing import SEALED, open_records, query_frame

# Every sealed record opened so far: (customer_id, pii) -> its clear columns.
_OPENED = "kept_inputs_opened"


class KeptInputs:
    """Reads committed nights into work.* on one connection where the warehouse is attached
    as `committed` and raw.* are views of it; keeps the records it opened between nights."""

    def __init__(self, con: duckdb.DuckDBPyConnection, archive_root: Path, key: PiiKey | None):
        self.con = con
        self.archive_root = Path(archive_root)
        self.key = key
        columns = ", ".join(f"{c} varchar" for c in SEALED)
        con.execute(
            f"create or replace temp table {_OPENED} (customer_id varchar, pii blob, {columns})"
        )

    def read(
        self, night: date, landing: Path, encodings: dict[str, str], default_encoding: str
    ) -> str | None:
        """Fill work.<dataset> for every dataset of `night`; returns where they came from, or
        None (nothing written) when neither raw.* nor the archive holds the night whole."""
        if self._raw_holds(night):
            for name in DATASETS:
                self.con.execute(warehouse.work_table_ddl(name))
                if name == "customers":
                    self._customers("where snapshot_date = $d", {"d": night})
                else:
                    self._insert(name, f"raw.{name}", "where snapshot_date = $d", {"d": night})
            return "raw"
        files = {name: archive.snapshot_path(self.archive_root, name, night) for name in DATASETS}
        if not all(files[name].exists() for name in archive.ARCHIVED):
            return None
        for name in archive.ARCHIVED:
            self.con.execute(warehouse.work_table_ddl(name))
            source = f"read_parquet('{_quoted(files[name])}')"
            self._insert(name, source, "", {}, night=night)
        self.con.execute(warehouse.work_table_ddl("customers"))
        landed = landing_folder(landing, night)
        path = find_file(landed, "customers") if landed.is_dir() else None
        if path is not None:
            encoding = encodings.get("customers", default_encoding)
            load_file(self.con, DATASETS["customers"], path, night, encoding)
            return "archive"
        # what restore.landing_for gives a replay of an archived date: today's customers
        self._customers(
            "qualify row_number() over (partition by customer_id order by snapshot_date desc) = 1",
            {},
            night=night,
        )
        return "archive"

    def _raw_holds(self, night: date) -> bool:
        # loans is required and never empty: raw.loans holds a kept night, and every other
        # dataset's rows of it (housekeeping moves a night out of raw.* all datasets at once)
        found = self.con.execute(
            "select count(*) > 0 from (select 1 from raw.loans where snapshot_date = $d limit 1)",
            {"d": night},
        ).fetchall()
        return bool(found[0][0])

    def _insert(
        self, name: str, source: str, where: str, params: dict, night: date | None = None
    ) -> None:
        columns = ", ".join(DATASETS[name].column_names)
        day = "$night::date" if night is not None else "snapshot_date"
        bound = {**params, "night": night} if night is not None else params
        self.con.execute(
            f"insert into work.{name} by name "
            f"select {day} as snapshot_date, {columns} from {source} {where}",
            bound,
        )

    def _customers(self, where: str, params: dict, night: date | None = None) -> None:
        """raw.customers rows into work.customers, their sealed records opened."""
        rows = f"(select * from raw.customers {where})"
        fresh = query_frame(
            self.con,
            f"select distinct customer_id, pii from {rows} as kept where pii is not null "
            f"and not exists (select 1 from {_OPENED} as o "
            "where o.customer_id = kept.customer_id and o.pii = kept.pii)",
            params,
        )
        if fresh.height:
            if self.key is None:
                raise ConfigError(
                    "the customers of the simulated nights are sealed in raw.customers: give "
                    "their key (ARREARS_PII_KEY or ARREARS_PII_KEY_FILE)"
                )
            opened = open_records(
                fresh["pii"].to_list(), fresh["customer_id"].to_list(), self.key, SEALED
            )
            fresh = fresh.with_columns(pl.Series(c, opened[c], dtype=pl.Utf8) for c in SEALED)
            self.con.register("kept_inputs_fresh", fresh.to_arrow())
            try:
                self.con.execute(f"insert into {_OPENED} by name select * from kept_inputs_fresh")
            finally:
                self.con.unregister("kept_inputs_fresh")
        clear = ", ".join(f"coalesce(o.{c}, kept.{c}) as {c}" for c in SEALED)
        others = ", ".join(
            f"kept.{c}" for c in DATASETS["customers"].column_names if c not in SEALED
        )
        day = "$night::date" if night is not None else "kept.snapshot_date"
        bound = {**params, "night": night} if night is not None else params
        self.con.execute(
            f"insert into work.customers by name select {day} as snapshot_date, {others}, "
            f"{clear} from {rows} as kept left join {_OPENED} as o "
            "on o.customer_id = kept.customer_id and o.pii = kept.pii",
            bound,
        )


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
