"""The intraday payments of action day A: `landing/<A>/payments/*.csv|parquet` -> work.payments.

The lender's systems add files during the day; every `arrears cancel --date A` reads them all
(in name order; names starting with `.` or `_` are files still being written and are skipped).
Each file goes through the landing reader of the nightly datasets (`arrears.ingest.load_file`:
header, required values, exact amounts to the cent, timestamps with an offset, payment_id
unique in the file), then through the rules only payments have:

- amount > 0;
- paid_at inside day A in the lender's time zone (a payment outside it is not of this day);
- loan_id a loan of the snapshot A - 1 (the book the day's actions were decided from);
- payment_id unique across all of the day's files.

A file that breaks any rule raises InputRejected naming the file, the rule, the count and the
first rows; nothing is computed or published then, so the cancel files already published stay
as they were. Payments carry no personal data, so the examples show their values.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

from arrears import warehouse
from arrears.contract import PAYMENTS
from arrears.errors import InputRejected
from arrears.ingest import LandedFile, landing_folder, load_file
from arrears.sqlfiles import bind

log = logging.getLogger(__name__)

FOLDER = "payments"
# Offending rows shown in a rejection, as many as the landing reader shows.
EXAMPLES = 5
SUFFIXES = (".csv", ".parquet")
# Every file's typed rows, with the file they came from (scratch of the cancel run).
_LANDED = "work.payments_landed"


@dataclass
class PaymentsSummary:
    action_date: date
    folder: str
    files: list[LandedFile] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    def as_json(self) -> dict[str, object]:
        return {
            "action_date": self.action_date.isoformat(),
            "folder": self.folder,
            "rows": self.rows,
            "files": [asdict(f) for f in self.files],
        }


def payments_folder(landing: Path, action_date: date) -> Path:
    return landing_folder(landing, action_date) / FOLDER


def payment_files(folder: Path) -> list[Path]:
    """The day's payment files, in name order; files being written (`.x`, `_x`) are skipped."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix in SUFFIXES and not p.name.startswith((".", "_"))
    )


def load_payments(
    con: duckdb.DuckDBPyConnection,
    action_date: date,
    landing: Path,
    timezone: str,
    encoding: str = "utf-8",
) -> PaymentsSummary:
    """Read every payments file of day `action_date` into work.payments, or raise InputRejected."""
    folder = payments_folder(landing, action_date)
    summary = PaymentsSummary(action_date, str(folder))
    con.execute(warehouse.work_table_ddl(PAYMENTS.name))
    con.execute(
        f"create or replace table {_LANDED} as select *, ''::varchar as file from work.payments"
    )
    for path in payment_files(folder):
        # load_file appends to work.payments (and may recreate it): one file at a time.
        con.execute(warehouse.work_table_ddl(PAYMENTS.name))
        landed = load_file(con, PAYMENTS, path, action_date, encoding)
        _check_rows(con, path, action_date, timezone)
        con.execute(
            f"insert into {_LANDED} select *, $file from work.payments", {"file": str(path)}
        )
        summary.files.append(landed)
    _check_unique_across_files(con)
    con.execute(warehouse.work_table_ddl(PAYMENTS.name))
    con.execute(
        f"insert into work.payments select * exclude (file) from {_LANDED} "
        "order by paid_at, payment_id"
    )
    con.execute(f"drop table {_LANDED}")
    if not summary.files:
        log.info("payments: no file in %s yet", folder)
    log.info(
        "payments: %d rows from %d files for %s", summary.rows, len(summary.files), action_date
    )
    return summary


def _check_rows(
    con: duckdb.DuckDBPyConnection, path: Path, action_date: date, timezone: str
) -> None:
    """The rules of a payment beyond its types, on the file just loaded into work.payments."""
    params = {
        "day_start": action_date,
        "day_end": action_date + timedelta(days=1),
        "timezone": timezone,
        "snapshot_date": action_date - timedelta(days=1),
    }
    checks = (
        ("column amount: not a positive amount", "amount <= 0", "amount"),
        (
            f"column paid_at: outside {action_date} in {timezone}",
            "paid_at < timezone($timezone, $day_start::timestamp) "
            "or paid_at >= timezone($timezone, $day_end::timestamp)",
            "strftime(timezone($timezone, paid_at), '%Y-%m-%dT%H:%M:%S') || ' ' || $timezone",
        ),
        (
            f"column loan_id: not a loan of the snapshot {params['snapshot_date']}",
            "loan_id not in (select loan_id from raw.loans where snapshot_date = $snapshot_date)",
            "loan_id",
        ),
    )
    for rule, predicate, shown in checks:
        count_query = f"select count(*) from work.payments where {predicate}"
        bad = warehouse.scalar(con, count_query, bind(count_query, params))
        if not bad:
            continue
        rows_query = (
            f"select payment_id, {shown} from work.payments where {predicate} "
            f"order by payment_id limit {EXAMPLES}"
        )
        rows = con.execute(rows_query, bind(rows_query, params)).fetchall()
        raise InputRejected(
            str(path),
            rule,
            int(bad),
            examples=[f"payment_id {pid}: {value!r}" for pid, value in rows],
        )


def _check_unique_across_files(con: duckdb.DuckDBPyConnection) -> None:
    """A payment_id in two of the day's files: the later file (in name order) is named."""
    repeated = con.execute(
        f"""
        with numbered as (
            select payment_id, file, min(file) over (partition by payment_id) as first_file
            from {_LANDED}
        )
        select file, first_file, payment_id from numbered
        where file <> first_file
        order by file, payment_id
        """
    ).fetchall()
    if not repeated:
        return
    file = repeated[0][0]
    in_file = [r for r in repeated if r[0] == file]
    raise InputRejected(
        file,
        "duplicate payment_id across the day's files",
        len(in_file),
        examples=[f"payment_id {pid}: already in {first}" for _, first, pid in in_file[:EXAMPLES]],
        hint="each payment is reported once: a file must not repeat an earlier file's payments",
    )
