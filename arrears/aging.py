"""Aging (docs/CONTRACT.md section 3): days past due, buckets, classes, transitions, roll rates.

The rules live in a versioned YAML file (arrears/defaults/aging.yaml, docs/aging.md) that is
validated when loaded; the computation lives in the SQL models under sql/ and reads the range
tables as bound data (work.cfg_*), never as SQL text.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel, ConfigDict, Field, field_validator

from arrears import registry, state
from arrears.config import LabelledRange as DpdRange  # a row of a range table
from arrears.config import RangeTable, load_config
from arrears.errors import ArrearsError

DEFAULT_AGING_CONFIG = Path(__file__).resolve().parent / "defaults" / "aging.yaml"

# Outcomes a roll rate can end in besides a bucket: a bucket may not carry these labels.
ROLL_OUTCOMES = ("CLOSED", "WRITTEN_OFF", "ABSENT")


class LoanClassConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: RangeTable
    # product -> its own table, replacing the default one for that product.
    overrides: dict[str, RangeTable] = Field(default_factory=dict)

    def table_for(self, product: str) -> list[DpdRange]:
        return self.overrides.get(product, self.default)


class AgingConfig(BaseModel):
    """The validated content of aging.yaml. Range tables are sorted by their lower bound."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    tolerance: Decimal = Field(default=Decimal("1.00"), ge=0, max_digits=18, decimal_places=2)
    buckets: RangeTable
    aging_term: RangeTable
    loan_class: LoanClassConfig
    ifrs9: RangeTable

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("tolerance", mode="before")
    @classmethod
    def _exact_tolerance(cls, value: Any) -> Any:
        # A YAML float (1.0) would carry binary noise into money comparisons: go through text.
        if isinstance(value, float):
            return Decimal(str(value))
        return value

    @field_validator("buckets")
    @classmethod
    def _bucket_labels(cls, value: list[DpdRange]) -> list[DpdRange]:
        taken = [r.label for r in value if r.label in ROLL_OUTCOMES]
        if taken:
            raise ValueError(
                f"{', '.join(taken)} is reserved for roll-rate outcomes; name the bucket otherwise"
            )
        return value

    @field_validator("ifrs9")
    @classmethod
    def _integer_stages(cls, value: list[DpdRange]) -> list[DpdRange]:
        for r in value:
            if not r.label.isdigit():
                raise ValueError(f"stage {r.label!r} is not an integer")
        return value


def load_aging_config(path: Path | str = DEFAULT_AGING_CONFIG) -> AgingConfig:
    """Read and validate aging.yaml; any problem raises ConfigError naming file, table, ranges."""
    return load_config(path, AgingConfig, what="aging configuration")


# --- running the models --------------------------------------------------------------------

# The results of the age step (sql/marts/*); the registry builds what they read, in order.
AGE_MODELS = ("loan_aging", "kpi_daily", "roll_rates")


def register_config(con: duckdb.DuckDBPyConnection, config: AgingConfig) -> None:
    """Write the range tables into work.cfg_* as bound rows (rank 0 = the range holding dpd 0)."""

    def ranks(table: list[DpdRange]) -> list[tuple[str, int, int, int | None]]:
        return [(r.label, i, r.min_dpd, r.max_dpd) for i, r in enumerate(table)]

    for target, table in (
        ("work.cfg_buckets", config.buckets),
        ("work.cfg_aging_terms", config.aging_term),
        ("work.cfg_ifrs9_stages", config.ifrs9),
    ):
        con.execute(
            f"create or replace table {target} "
            "(label varchar not null, rank integer not null, "
            "min_dpd integer not null, max_dpd integer)"
        )
        con.executemany(f"insert into {target} values (?, ?, ?, ?)", ranks(table))
    con.execute(
        "create or replace table work.cfg_loan_classes (product varchar, label varchar not null, "
        "rank integer not null, min_dpd integer not null, max_dpd integer)"
    )
    # product null = the default table, used by every product without an override.
    rows: list[tuple[str | None, str, int, int, int | None]] = [
        (None, *row) for row in ranks(config.loan_class.default)
    ]
    for product, table in sorted(config.loan_class.overrides.items()):
        rows += [(product, *row) for row in ranks(table)]
    con.executemany("insert into work.cfg_loan_classes values (?, ?, ?, ?, ?)", rows)


def build_aging(
    con: duckdb.DuckDBPyConnection, snapshot_date: date, config: AgingConfig
) -> dict[str, int]:
    """Materialize work.loan_aging, work.kpi_daily and work.roll_rates for `snapshot_date`.

    Reads work.loans and work.installments (the snapshot of D) and the committed history in
    marts.loan_aging (only `snapshot_date < D`, so a rerun of D sees what the first run saw).
    Returns the row count of each result table.
    """
    for dataset in ("loans", "installments"):
        dates = con.execute(
            f"select count(*) filter (where snapshot_date <> $d) from work.{dataset}",
            {"d": snapshot_date},
        ).fetchone()
        if dates is not None and dates[0]:
            raise ArrearsError(
                f"work.{dataset} holds {dates[0]} rows of another date than {snapshot_date}: "
                "aging reads the snapshot of D only"
            )
    register_config(con, config)
    state.check(con, snapshot_date)
    params = {
        "snapshot_date": snapshot_date,
        **state.previous_dates(con, snapshot_date),
        "tolerance": config.tolerance,
    }
    # Scratch models go once the results stand; the config tables stay for inspection.
    return registry.build(con, AGE_MODELS, params, keep_scratch=False)
