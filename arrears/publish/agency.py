"""Agency placement files: `<outbox>/<A>/agency/<agency_id>.parquet` (CONTRACT section 11).

Written into the date's temporary folder with the channel files, listed in the same manifest
and swapped in with them (arrears/publish/outbox.py): a reader sees an agency's placements
and recalls together with the action lists of the same night, or none of them. One file per
agency with a placement made or ended that night.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from arrears.contract import PERSONAL_COLUMNS
from arrears.publish.columns import PersonalDataViolation
from arrears.warehouse import sql_text

SUBSET = "agency"
# The personal data a collector needs to work an account: name, phone and address.
AGENCY_COLUMNS: tuple[str, ...] = (
    "agency_id",
    "action_date",
    "event",
    "reason",
    "customer_id",
    "channels",
    "placed_date",
    "recalled_date",
    "stage",
    "loan_ids",
    "primary_loan_id",
    "overdue_amount",
    "outstanding_amount",
    "full_name",
    "phone",
    "address",
    "city",
    "province",
    "postal_code",
    "branch",
)
ALLOWED_PERSONAL = frozenset({"full_name", "phone", "address", "city", "postal_code"})


def agencies_of(con: duckdb.DuckDBPyConnection, action_date: date) -> list[str]:
    rows = con.execute(
        "select distinct assignee_id from marts.assignments "
        "where action_date = $d and assignee_kind = 'AGENCY' order by 1",
        {"d": action_date},
    ).fetchall()
    return [agency_id for (agency_id,) in rows]


def check_agency_columns(columns: tuple[str, ...]) -> None:
    """The guard of the channel files, for the agency files' allowance."""
    extra = sorted({c.lower() for c in columns} & set(PERSONAL_COLUMNS) - ALLOWED_PERSONAL)
    if extra:
        raise PersonalDataViolation(
            "outbox agency",
            "personal data an agency does not need",
            len(extra),
            extra,
            hint=f"an agency file may carry only: {', '.join(sorted(ALLOWED_PERSONAL))}",
            unit="column",
        )


def rows_query() -> str:
    check_agency_columns(AGENCY_COLUMNS)
    return f"select {', '.join(AGENCY_COLUMNS)} from ({sql_text('publish/agency_rows')})"


def agency_file(folder: Path, agency_id: str) -> Path:
    return folder / SUBSET / f"{agency_id}.parquet"
