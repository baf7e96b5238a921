"""The landing contract (docs/CONTRACT.md section 2) as data.

One definition serves ingest (typing and structural checks), the warehouse DDL, the quality
suites and the synthetic generator, so the four can never disagree about a column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["string", "date", "decimal", "integer", "boolean", "timestamp"]

# Money is exact: 18 digits, 2 decimals, in the loan currency.
MONEY = "DECIMAL(18,2)"

SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "date": "DATE",
    "decimal": MONEY,
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMPTZ",
}

LOAN_STATUSES = ("ACTIVE", "CLOSED", "CHARGED_OFF", "WRITTEN_OFF")
ARRANGEMENT_KINDS = ("PROMISE_TO_PAY", "INSTALLMENT_PLAN", "EXTENSION", "SETTLEMENT")
CHANNELS = ("SMS", "CALL", "EMAIL", "LETTER", "VISIT", "LEGAL")
OUTCOMES = (
    "DELIVERED",
    "FAILED",
    "NO_ANSWER",
    "CONNECTED",
    "WRONG_PARTY",
    "PROMISE",
    "REFUSED",
    "DISPUTE",
    "VISITED",
    "NOT_FOUND",
)
HOLD_KINDS = (
    "DISPUTE",
    "COMPLAINT",
    "CEASE_CONTACT",
    "DECEASED",
    "BANKRUPTCY",
    "LEGAL_HOLD",
    "HARDSHIP",
)


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool = True
    # Value used when an optional column is absent or empty ("0.00", "true", ...).
    default: str | None = None
    enum: tuple[str, ...] | None = None
    # Personal data: may appear only in the outbox files of channels that need it.
    personal: bool = False

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class Dataset:
    name: str
    required: bool
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # snapshot: the file is the full state at D; increment: it adds to what came before.
    kind: Literal["snapshot", "increment"] = "snapshot"
    # snapshot datasets that carry the previous state forward when a date has no file.
    carries_forward: bool = False
    notes: str = field(default="", compare=False)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def holds_personal_data(self) -> bool:
        return any(c.personal for c in self.columns)

    def may_show(self, column: str) -> bool:
        """Whether values of `column` may appear in a message, a log line or an ops/quality
        table. A dataset holding personal data shows none but its key: with two headers
        swapped, any of its columns can hold a phone number; the key and the rule suffice."""
        return column in self.key or not self.holds_personal_data


LOANS = Dataset(
    name="loans",
    required=True,
    key=("loan_id",),
    columns=(
        Column("loan_id", "string"),
        Column("customer_id", "string"),
        Column("product", "string"),
        Column("branch", "string"),
        Column("currency", "string"),
        Column("origination_date", "date"),
        Column("maturity_date", "date", required=False),
        Column("principal_amount", "decimal"),
        Column("outstanding_principal", "decimal"),
        Column("status", "string", enum=LOAN_STATUSES),
        Column("source_dpd", "integer", required=False),
    ),
)

INSTALLMENTS = Dataset(
    name="installments",
    required=True,
    key=("loan_id", "installment_no"),
    columns=(
        Column("loan_id", "string"),
        Column("installment_no", "integer"),
        Column("due_date", "date"),
        Column("principal_due", "decimal"),
        Column("interest_due", "decimal"),
        Column("fee_due", "decimal", required=False, default="0.00"),
        Column("penalty_due", "decimal", required=False, default="0.00"),
        Column("principal_paid", "decimal"),
        Column("interest_paid", "decimal"),
        Column("fee_paid", "decimal", required=False, default="0.00"),
        Column("penalty_paid", "decimal", required=False, default="0.00"),
        Column("last_payment_date", "date", required=False),
    ),
)

CUSTOMERS = Dataset(
    name="customers",
    required=True,
    key=("customer_id",),
    columns=(
        Column("customer_id", "string"),
        Column("full_name", "string", personal=True),
        Column("national_id", "string", required=False, personal=True),
        Column("phone", "string", required=False, personal=True),
        Column("email", "string", required=False, personal=True),
        Column("address", "string", required=False, personal=True),
        Column("city", "string", required=False, personal=True),
        Column("province", "string", required=False),
        Column("postal_code", "string", required=False, personal=True),
        Column("timezone", "string", required=False),
        Column("language", "string", required=False),
        Column("consent_sms", "boolean", required=False, default="true"),
        Column("consent_call", "boolean", required=False, default="true"),
        Column("consent_email", "boolean", required=False, default="true"),
        # Where the customer is, in decimal degrees (WGS 84), to route field visits; personal.
        Column("latitude", "string", required=False, personal=True),
        Column("longitude", "string", required=False, personal=True),
    ),
)

ARRANGEMENTS = Dataset(
    name="arrangements",
    required=False,
    carries_forward=True,
    key=("arrangement_id",),
    columns=(
        Column("arrangement_id", "string"),
        Column("loan_id", "string"),
        Column("kind", "string", enum=ARRANGEMENT_KINDS),
        Column("created_date", "date"),
        Column("promised_date", "date"),
        Column("promised_amount", "decimal"),
        Column("cancelled", "boolean", required=False, default="false"),
    ),
)

CONTACT_EVENTS = Dataset(
    name="contact_events",
    required=False,
    kind="increment",
    key=("event_id",),
    columns=(
        Column("event_id", "string"),
        Column("action_id", "string", required=False),
        Column("customer_id", "string"),
        Column("loan_id", "string", required=False),
        Column("channel", "string", enum=CHANNELS),
        Column("occurred_at", "timestamp"),
        Column("outcome", "string", enum=OUTCOMES),
    ),
)

HOLDS = Dataset(
    name="holds",
    required=False,
    carries_forward=True,
    # A hold has no id of its own: one per customer, loan (or all loans), kind and start.
    key=("customer_id", "loan_id", "kind", "start_date"),
    columns=(
        Column("customer_id", "string"),
        Column("loan_id", "string", required=False),
        Column("kind", "string", enum=HOLD_KINDS),
        Column("start_date", "date"),
        Column("end_date", "date", required=False),
    ),
)

# Credit-bureau reports (CONTRACT section 10): the reports in force, a full snapshot like holds;
# the latest report of each customer on or before D feeds the risk score and the stages.
BUREAU = Dataset(
    name="bureau",
    required=False,
    carries_forward=True,
    key=("customer_id", "report_date"),
    columns=(
        Column("customer_id", "string"),
        Column("report_date", "date"),
        Column("bureau_score", "integer"),
        Column("external_overdue_accounts", "integer"),
        Column("external_overdue_amount", "decimal"),
        Column("external_total_debt", "decimal"),
        Column("inquiries_90d", "integer"),
    ),
)

DATASETS: dict[str, Dataset] = {
    d.name: d for d in (LOANS, INSTALLMENTS, CUSTOMERS, ARRANGEMENTS, CONTACT_EVENTS, HOLDS, BUREAU)
}

# Payments during the action day A (CONTRACT section 9): `landing/<A>/payments/*.csv|parquet`,
# any number of files added during the day, read together by `arrears cancel --date A`. Not a
# nightly dataset: the night sees the payments in the next snapshot's installments instead.
PAYMENTS = Dataset(
    name="payments",
    required=False,
    kind="increment",
    key=("payment_id",),
    columns=(
        Column("payment_id", "string"),
        Column("loan_id", "string"),
        Column("paid_at", "timestamp"),
        Column("amount", "decimal"),
    ),
    notes="intraday: unique across the day's files; loan_id of the snapshot A - 1; amount > 0",
)

INTRADAY_DATASETS: dict[str, Dataset] = {PAYMENTS.name: PAYMENTS}


def find_dataset(name: str) -> Dataset:
    """A nightly or an intraday dataset by name."""
    found = DATASETS.get(name) or INTRADAY_DATASETS.get(name)
    if found is None:
        raise KeyError(f"no dataset named {name!r}")
    return found


PERSONAL_COLUMNS: tuple[str, ...] = tuple(
    c.name for d in DATASETS.values() for c in d.columns if c.personal
)
