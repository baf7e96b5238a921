"""The month's bureau files: `<outbox>/bureau/<YYYY-MM>/pboc_accounts.csv`, `metro2.dat` and
`_manifest.json`, written from the committed rows of marts.bureau_accounts.

The set is assembled in `.<YYYY-MM>.tmp-<run_id>/` beside the month's folder and swapped in
whole (arrears/publish/folders.py): a reader sees the old set or the new one. The data files
hold no run-varying value, so the same rows and identities give the same bytes. Personal data:
full name and national id only, opened from raw.customers while the files are written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from cryptography.exceptions import InvalidTag

from arrears import warehouse
from arrears.bureau import metro2
from arrears.bureau.month import MEMORY_BYTES
from arrears.errors import ArrearsError, ConfigError
from arrears.pii.keys import PiiKey
from arrears.pii.sealing import open_records, query_frame, sealed_with
from arrears.publish.folders import date_lock, fsync_path, safe_token, swap_in
from arrears.publish.manifest import MANIFEST_NAME, ManifestFile, file_sha256

PBOC_NAME = "pboc_accounts.csv"
METRO2_NAME = "metro2.dat"
PBOC_COLUMNS = (
    "loan_id",
    "customer_id",
    "full_name",
    "national_id",
    "month",
    "status_char",
    "repayment_status_24m",
    "overdue_periods",
    "overdue_total",
    "overdue_principal",
    "overdue_principal_31_60",
    "overdue_principal_61_90",
    "overdue_principal_91_180",
    "overdue_principal_180_plus",
    "five_category",
    "balance",
    "remaining_periods",
    "due_this_month",
    "paid_this_month",
    "last_payment_date",
    "last_payment_amount",
)
# Product -> (Metro 2 portfolio type, account type); others are unsecured installment loans.
ACCOUNT_TYPES = {
    "credit_card": ("R", "18"),
    "auto_loan": ("I", "00"),
    "mortgage": ("M", "26"),
}
DEFAULT_ACCOUNT_TYPE = ("I", "01")
# Accounts read, named and written at a time: the memory of the files is a batch's.
_CHUNK_ROWS = 25_000

_ROWS = """
select *
from marts.bureau_accounts
where report_month = $month
order by loan_id
"""

# The customer copy nearest the reporting night: its own if still kept, else the latest
# earlier, else the earliest later (raw.customers keeps the last nights' copies only).
_IDENTITIES = """
select customers.customer_id, customers.pii, customers.pii_key_id
from raw.customers as customers
semi join (
    select customer_id from marts.bureau_accounts where report_month = $month
) as reported
    on reported.customer_id = customers.customer_id
qualify row_number() over (
    partition by customers.customer_id
    order by customers.snapshot_date > $day, abs(customers.snapshot_date - $day::date)
) = 1
"""


@dataclass(frozen=True)
class Reporter:
    identification: str
    name: str


def month_folder(outbox: Path, month: date) -> Path:
    return Path(outbox) / "bureau" / month.strftime("%Y-%m")


@dataclass(frozen=True)
class Identities:
    """The month's customers' sealed records, checked against the key; opened a batch of
    accounts at a time (`opened`), so that the clear names never are all in memory at once."""

    sealed: pl.DataFrame  # customer_id, pii
    key: PiiKey | None
    month: date

    def opened(self, customer_ids: pl.Series) -> pl.DataFrame:
        """customer_id, full_name, national_id of these customers."""
        wanted = self.sealed.join(
            pl.DataFrame({"customer_id": customer_ids.unique()}), on="customer_id", how="semi"
        )
        opened: dict[str, list[str | None]] = {"full_name": [], "national_id": []}
        if wanted.height and self.key is not None:
            try:
                opened = open_records(
                    wanted["pii"].to_list(), wanted["customer_id"].to_list(), self.key
                )
            except InvalidTag:
                raise ConfigError(
                    f"the given key does not open the customers of {self.month:%Y-%m}"
                ) from None
        return wanted.select("customer_id").with_columns(
            pl.Series("full_name", opened["full_name"], dtype=pl.String),
            pl.Series("national_id", opened["national_id"], dtype=pl.String),
        )


def identities(
    con: duckdb.DuckDBPyConnection, month: date, day: date, key: PiiKey | None
) -> Identities:
    """The sealed records of the month's customers, after checking they are sealed with `key`."""
    frame = query_frame(con, _IDENTITIES, {"month": month, "day": day})
    sealed = sealed_with(
        frame, key, f"customers of the bureau month {month:%Y-%m}", "refusing to write the files"
    )
    return Identities(sealed.select("customer_id", "pii"), key, month)


def pboc_frame(rows: pl.DataFrame) -> pl.DataFrame:
    """The CSV's columns as text: amounts with their two decimals, dates YYYY-MM-DD."""
    return rows.with_columns(month=pl.col("report_month").dt.strftime("%Y-%m")).select(
        pl.col(c).cast(pl.String) for c in PBOC_COLUMNS
    )


def base_frame(rows: pl.DataFrame, reporter: Reporter) -> pl.DataFrame:
    """The base segment's fields of every reported loan (docs/bureau.md, "Base segment")."""
    words = pl.col("full_name").fill_null("").str.strip_chars().str.split(" ")
    words = words.list.eval(pl.element().filter(pl.element() != ""))
    several = words.list.len() >= 2
    portfolio = pl.col("product").replace_strict(
        {k: v[0] for k, v in ACCOUNT_TYPES.items()}, default=DEFAULT_ACCOUNT_TYPE[0]
    )
    return rows.select(
        record_descriptor_word=pl.lit(metro2.RECORD_BYTES),
        processing_indicator=pl.lit(1),
        time_stamp=pl.col("snapshot_date").dt.strftime("%m%d%Y") + "000000",
        correction_indicator=pl.lit(0),
        identification_number=pl.lit(reporter.identification),
        consumer_account_number=pl.col("loan_id"),
        portfolio_type=portfolio,
        account_type=pl.col("product").replace_strict(
            {k: v[1] for k, v in ACCOUNT_TYPES.items()}, default=DEFAULT_ACCOUNT_TYPE[1]
        ),
        date_opened=pl.col("date_opened"),
        credit_limit=pl.lit(0),
        highest_credit=pl.col("principal_amount"),
        terms_duration=pl.when(portfolio == "R")
        .then(pl.lit("REV"))
        .otherwise(pl.col("terms_duration").clip(0, 999).cast(pl.String).str.zfill(3)),
        terms_frequency=pl.lit("M"),
        scheduled_monthly_payment_amount=pl.col("due_this_month"),
        actual_payment_amount=pl.col("paid_this_month"),
        account_status=pl.col("account_status"),
        payment_rating=pl.col("payment_rating"),
        payment_history_profile=pl.col("payment_history_profile"),
        compliance_condition_code=pl.col("compliance_condition_code"),
        current_balance=pl.col("balance"),
        amount_past_due=pl.col("amount_past_due"),
        original_charge_off_amount=pl.col("original_charge_off_amount"),
        date_account_information=pl.col("snapshot_date"),
        date_first_delinquency=pl.col("first_delinquency_date"),
        date_closed=pl.col("date_closed"),
        date_last_payment=pl.col("last_payment_date"),
        # a name without blanks goes whole into the surname; otherwise its last word is the
        # surname (the order of the US format's names)
        surname=pl.when(several).then(words.list.last()).otherwise(words.list.join(" ")),
        first_name=pl.when(several).then(words.list.head(words.list.len() - 1).list.join(" ")),
        # the 9-digit numeric field takes a national id of 9 digits; any other is not sent
        social_security_number=pl.when(pl.col("national_id").str.contains(r"^[0-9]{9}$"))
        .then(pl.col("national_id"))
        .cast(pl.Int64),
        ecoa_code=pl.lit("1"),
    )


def header_values(month_end: date, reporter: Reporter) -> dict[str, metro2.Value]:
    return {
        "record_descriptor_word": metro2.RECORD_BYTES,
        "record_identifier": "HEADER",
        "equifax_program_identifier": reporter.identification,
        "experian_program_identifier": reporter.identification,
        "transunion_program_identifier": reporter.identification,
        "activity_date": month_end,
        "date_created": month_end,
        "reporter_name": reporter.name,
        "software_vendor_name": "ARREARS",
        "software_version_number": "1",
    }


def trailer_values(statuses: dict[str, int], social_numbers: int) -> dict[str, metro2.Value]:
    total = sum(statuses.values())
    values: dict[str, metro2.Value] = {
        "record_descriptor_word": metro2.RECORD_BYTES,
        "record_identifier": "TRAILER",
        "total_base_records": total,
        # unblocked: each record is its own block, header and trailer included
        "block_count": total + 2,
        "total_social_numbers_all_segments": social_numbers,
        "total_social_numbers_base_segments": social_numbers,
    }
    for code in metro2.TRAILER_STATUSES:
        values[f"total_status_code_{code}"] = statuses.get(code, 0)
    return values


def _entry(path: Path, fmt: str, rows: int) -> ManifestFile:
    fsync_path(path)
    sha256, size = file_sha256(path)
    return ManifestFile(
        name=path.name, channel="bureau", format=fmt, rows=rows, sha256=sha256, bytes=size,
        encoding="utf-8",
    )  # fmt: skip


def write_files(
    folder: Path,
    batches: Iterable[pl.DataFrame],
    people: Identities,
    reporter: Reporter,
    day: date,
) -> list[ManifestFile]:
    """pboc_accounts.csv and metro2.dat into `folder`, from the month's rows in loan_id order,
    a batch at a time (the memory is a batch's), with their identities from `people`."""
    pboc, dat = folder / PBOC_NAME, folder / METRO2_NAME
    statuses: Counter[str] = Counter()
    rows = social = 0
    with pboc.open("wb") as csv_out, dat.open("wb") as dat_out:
        dat_out.write(metro2.encode(metro2.HEADER, header_values(day, reporter)) + b"\n")
        for batch in batches:
            named = people.opened(batch["customer_id"])
            batch = batch.join(named, on="customer_id", how="left", maintain_order="left")
            pboc_frame(batch).write_csv(
                csv_out, include_header=rows == 0, null_value="", line_terminator="\n"
            )
            bases = base_frame(batch, reporter)
            statuses.update(dict(bases.group_by("account_status").len().iter_rows()))
            social += bases["social_security_number"].drop_nulls().len()
            records = metro2.encode_frame(metro2.BASE, bases)
            dat_out.write((records.str.join("\n").item() + "\n").encode("utf-8"))
            rows += batch.height
        trailer = trailer_values(dict(statuses), social)
        dat_out.write(metro2.encode(metro2.TRAILER, trailer) + b"\n")
    return [_entry(pboc, "csv", rows), _entry(dat, "metro2", rows)]


def _batches(con: duckdb.DuckDBPyConnection, month: date) -> Iterator[pl.DataFrame]:
    for batch in con.sql(_ROWS, params={"month": month}).to_arrow_reader(_CHUNK_ROWS):
        yield pl.DataFrame(pl.from_arrow(batch))


def manifest(
    run_id: str, month: date, day: date, files: list[ManifestFile], generated_at: datetime
) -> dict[str, Any]:
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.name):
        digest.update(f"{f.name}\t{f.sha256}\n".encode())
    return {
        "manifest_version": 1,
        "run_id": run_id,
        "report_month": month.strftime("%Y-%m"),
        "snapshot_date": day.isoformat(),
        "generated_at": generated_at.isoformat(),
        "content_sha256": digest.hexdigest(),
        "files": [f.to_dict() for f in files],
    }


def _recover(parent: Path, name: str) -> None:
    """The recovery rule of the outbox (arrears/publish/folders.py) for one month's folder."""
    target = parent / name
    leftovers = sorted(
        (p for p in parent.iterdir() if p.name.startswith(f".{name}.") and ".lock" not in p.name),
        key=lambda p: p.stat().st_mtime_ns,
    )
    aside = [p for p in leftovers if p.name.startswith(f".{name}.old-")]
    if not target.exists() and aside:
        os.rename(aside[-1], target)
        leftovers.remove(aside[-1])
    for path in leftovers:
        shutil.rmtree(path)


def publish(
    con: duckdb.DuckDBPyConnection,
    outbox: Path,
    month: date,
    run_id: str,
    reporter: Reporter,
    key: PiiKey | None,
) -> dict[str, Any]:
    """Write the month's set from marts.bureau_accounts and swap it in; returns the manifest."""
    day = con.execute(
        "select max(snapshot_date) from marts.bureau_accounts where report_month = $month",
        {"month": month},
    ).fetchall()[0][0]
    if day is None:
        raise ArrearsError(
            f"marts.bureau_accounts holds no rows for {month:%Y-%m}: rerun its reporting night "
            "(arrears run --date <the month's last day>) to build them"
        )
    people = identities(con, month, day, key)
    target = month_folder(outbox, month)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    token = safe_token(run_id)
    with date_lock(parent, month):
        _recover(parent, target.name)
        new = parent / f".{target.name}.tmp-{token}"
        new.mkdir()
        try:
            # the month's sort spills past the cap rather than lift the night's peak
            with warehouse.memory_at_most(con, MEMORY_BYTES):
                files = write_files(new, _batches(con, month), people, reporter, day)
            content = manifest(run_id, month, day, files, datetime.now(UTC))
            (new / MANIFEST_NAME).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
            fsync_path(new / MANIFEST_NAME)
            fsync_path(new)
            swap_in(new, target, parent / f".{target.name}.old-{token}")
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise
    return content
