"""The month's bureau files: `<outbox>/bureau/<YYYY-MM>/pboc_accounts.csv`, `metro2.dat` and
`_manifest.json`, written from the committed rows of marts.bureau_accounts.

The set is assembled in `.<YYYY-MM>.tmp-<run_id>/` beside the month's folder and swapped in
whole (arrears/publish/folders.py): a reader sees the old set or the new one. The data files
hold no run-varying value, so the same rows and identities give the same bytes. Personal data:
full name and national id only, opened from raw.customers while the files are written.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
from cryptography.exceptions import InvalidTag

from arrears.bureau import metro2
from arrears.errors import ArrearsError, ConfigError
from arrears.pii.keys import PiiKey
from arrears.pii.sealing import open_records, query_frame
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


def identities(
    con: duckdb.DuckDBPyConnection, month: date, day: date, key: PiiKey | None
) -> dict[str, tuple[str | None, str | None]]:
    """customer_id -> (full_name, national_id) of the month's customers, opened with `key`."""
    frame = query_frame(con, _IDENTITIES, {"month": month, "day": day})
    sealed = frame.filter(frame["pii"].is_not_null())
    if sealed.height < frame.height:
        raise ArrearsError(
            f"raw.customers holds {frame.height - sealed.height} customers of the bureau month "
            f"{month:%Y-%m} whose personal data is not sealed; refusing to write the files"
        )
    if not sealed.height:
        return {}
    found = set(sealed["pii_key_id"].unique().to_list())
    if key is None or found != {key.key_id}:
        raise ConfigError(
            f"the customers of the bureau month {month:%Y-%m} are sealed with key "
            f"{', '.join(sorted(found))}, not with the given key ({key.key_id if key else 'none'})"
        )
    ids = sealed["customer_id"].to_list()
    try:
        opened = open_records(sealed["pii"].to_list(), ids, key)
    except InvalidTag:
        raise ConfigError(f"the given key does not open the customers of {month:%Y-%m}") from None
    return dict(zip(ids, zip(opened["full_name"], opened["national_id"], strict=True), strict=True))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def pboc_row(row: dict[str, Any], name: str | None, national_id: str | None) -> list[str]:
    values = {**row, "full_name": name, "national_id": national_id}
    values["month"] = row["report_month"].strftime("%Y-%m")
    return [_text(values[c]) for c in PBOC_COLUMNS]


def split_name(full_name: str | None) -> tuple[str, str]:
    """(surname, first name): a name without blanks goes whole into the surname; otherwise the
    last word is the surname (the order of the US format's names)."""
    words = (full_name or "").split()
    if len(words) < 2:
        return " ".join(words), ""
    return words[-1], " ".join(words[:-1])


def social_security_number(national_id: str | None) -> int | None:
    """The 9-digit numeric field takes a national id of 9 digits; any other id is not sent."""
    if national_id and len(national_id) == 9 and national_id.isdigit():
        return int(national_id)
    return None


def base_values(
    row: dict[str, Any], name: str | None, national_id: str | None, reporter: Reporter
) -> dict[str, metro2.Value]:
    """The base segment of one reported loan (docs/bureau.md, "Metro 2 fields")."""
    portfolio, account_type = ACCOUNT_TYPES.get(row["product"] or "", DEFAULT_ACCOUNT_TYPE)
    surname, first_name = split_name(name)
    terms = "REV" if portfolio == "R" else f"{min(row['terms_duration'], 999):03d}"
    return {
        "record_descriptor_word": metro2.RECORD_BYTES,
        "processing_indicator": 1,
        "time_stamp": row["snapshot_date"].strftime("%m%d%Y") + "000000",
        "correction_indicator": 0,
        "identification_number": reporter.identification,
        "consumer_account_number": row["loan_id"],
        "portfolio_type": portfolio,
        "account_type": account_type,
        "date_opened": row["date_opened"],
        "credit_limit": 0,
        "highest_credit": row["principal_amount"],
        "terms_duration": terms,
        "terms_frequency": "M",
        "scheduled_monthly_payment_amount": row["due_this_month"],
        "actual_payment_amount": row["paid_this_month"],
        "account_status": row["account_status"],
        "payment_rating": row["payment_rating"],
        "payment_history_profile": row["payment_history_profile"],
        "compliance_condition_code": row["compliance_condition_code"],
        "current_balance": row["balance"],
        "amount_past_due": row["amount_past_due"],
        "original_charge_off_amount": row["original_charge_off_amount"],
        "date_account_information": row["snapshot_date"],
        "date_first_delinquency": row["first_delinquency_date"],
        "date_closed": row["date_closed"],
        "date_last_payment": row["last_payment_date"],
        "surname": surname,
        "first_name": first_name,
        "social_security_number": social_security_number(national_id),
        "ecoa_code": "1",
    }


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


def trailer_values(statuses: Counter[str], social_numbers: int) -> dict[str, metro2.Value]:
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
    folder: Path, rows: list[dict[str, Any]], people: dict, reporter: Reporter, day: date
) -> list[ManifestFile]:
    """pboc_accounts.csv and metro2.dat of the month's rows into `folder`."""
    pboc = folder / PBOC_NAME
    with pboc.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PBOC_COLUMNS)
        for row in rows:
            writer.writerow(pboc_row(row, *people.get(row["customer_id"], (None, None))))
    statuses: Counter[str] = Counter()
    social = 0
    dat = folder / METRO2_NAME
    with dat.open("wb") as out:
        out.write(metro2.encode(metro2.HEADER, header_values(day, reporter)) + b"\n")
        for row in rows:
            name, national_id = people.get(row["customer_id"], (None, None))
            values = base_values(row, name, national_id, reporter)
            statuses[row["account_status"]] += 1
            social += values["social_security_number"] is not None
            out.write(metro2.encode(metro2.BASE, values) + b"\n")
        out.write(metro2.encode(metro2.TRAILER, trailer_values(statuses, social)) + b"\n")
    return [_entry(pboc, "csv", len(rows)), _entry(dat, "metro2", len(rows))]


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
    frame = query_frame(con, _ROWS, {"month": month})
    if not frame.height:
        raise ArrearsError(
            f"marts.bureau_accounts holds no rows for {month:%Y-%m}: rerun its reporting night "
            "(arrears run --date <the month's last day>) to build them"
        )
    rows = frame.to_dicts()
    day = max(r["snapshot_date"] for r in rows)
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
            files = write_files(new, rows, people, reporter, day)
            content = manifest(run_id, month, day, files, datetime.now(UTC))
            (new / MANIFEST_NAME).write_text(
                json.dumps(content, indent=2) + "\n", encoding="utf-8"
            )
            fsync_path(new / MANIFEST_NAME)
            fsync_path(new)
            swap_in(new, target, parent / f".{target.name}.old-{token}")
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise
    return content

