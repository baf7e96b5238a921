"""Aging (docs/CONTRACT.md section 3): days past due, buckets, classes, transitions, roll rates.

The rules live in a versioned YAML file (arrears/defaults/aging.yaml, docs/aging.md) that is
validated when loaded; the computation lives in the SQL models under sql/ and reads the range
tables as bound data (work.cfg_*), never as SQL text.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import duckdb
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from arrears import registry, state
from arrears.errors import ArrearsError, ConfigError

DEFAULT_AGING_CONFIG = Path(__file__).resolve().parent / "defaults" / "aging.yaml"

# Outcomes a roll rate can end in besides a bucket: a bucket may not carry these labels.
ROLL_OUTCOMES = ("CLOSED", "WRITTEN_OFF", "ABSENT")

_RANGE = re.compile(r"^\s*(\d+)\s*(?:(-)\s*(\d+)|(\+))?\s*$")


class DpdRange(BaseModel):
    """One row of a range table: `label` holds for min_dpd <= dpd <= max_dpd (None = no end)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    min_dpd: int
    max_dpd: int | None

    @property
    def text(self) -> str:
        if self.max_dpd is None:
            return f"{self.min_dpd}+"
        if self.max_dpd == self.min_dpd:
            return str(self.min_dpd)
        return f"{self.min_dpd}-{self.max_dpd}"

    def __str__(self) -> str:
        return f"{self.label} ({self.text})"


def _parse_table(value: Any) -> list[DpdRange]:
    """`{M1: "1-30", M7: "181+", M0: 0}` -> ranges in file order."""
    if isinstance(value, list) and value and all(isinstance(v, DpdRange) for v in value):
        return value
    if not isinstance(value, dict) or not value:
        raise ValueError('must map each label to a dpd range, e.g. M1: "1-30"')
    ranges = []
    for label, spec in value.items():
        match = _RANGE.match(str(spec)) if isinstance(spec, int | str) else None
        if match is None or isinstance(spec, bool):
            raise ValueError(f"{label}: {spec!r} is not a dpd range (write 0, 1-30 or 181+)")
        low = int(match.group(1))
        if match.group(4):
            high: int | None = None
        elif match.group(2):
            high = int(match.group(3))
        else:
            high = low
        if high is not None and high < low:
            raise ValueError(f"{label} ({low}-{high}): the range ends before it starts")
        ranges.append(DpdRange(label=str(label), min_dpd=low, max_dpd=high))
    return ranges


def _check_coverage(ranges: list[DpdRange]) -> list[DpdRange]:
    """Every dpd from 0 to infinity falls in exactly one range."""
    ordered = sorted(ranges, key=lambda r: (r.min_dpd, r.max_dpd is None, r.max_dpd or 0))
    first = ordered[0]
    if first.min_dpd != 0:
        raise ValueError(f"{first} is the lowest range and does not start at 0")
    for lower, upper in zip(ordered, ordered[1:], strict=False):
        if lower.max_dpd is None or upper.min_dpd <= lower.max_dpd:
            raise ValueError(f"{lower} and {upper} overlap")
        if upper.min_dpd > lower.max_dpd + 1:
            missing = (
                str(lower.max_dpd + 1)
                if upper.min_dpd == lower.max_dpd + 2
                else f"{lower.max_dpd + 1}-{upper.min_dpd - 1}"
            )
            raise ValueError(f"gap between {lower} and {upper}: {missing} not covered")
    last = ordered[-1]
    if last.max_dpd is not None:
        raise ValueError(
            f"{last} is the last range and does not reach infinity (write {last.min_dpd}+)"
        )
    labels = [r.label for r in ordered]
    duplicated = sorted({label for label in labels if labels.count(label) > 1})
    if duplicated:
        raise ValueError(f"label used twice: {', '.join(duplicated)}")
    return ordered


RangeTable = Annotated[
    list[DpdRange], BeforeValidator(_parse_table), AfterValidator(_check_coverage)
]


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

    def bucket_of(self, dpd: int) -> str:
        """The bucket label of a dpd, by the same rule as the SQL models."""
        return next(r.label for r in self.buckets if _contains(r, dpd))


def _contains(r: DpdRange, dpd: int) -> bool:
    return r.min_dpd <= dpd and (r.max_dpd is None or dpd <= r.max_dpd)


def load_aging_config(path: Path | str = DEFAULT_AGING_CONFIG) -> AgingConfig:
    """Read and validate aging.yaml; any problem raises ConfigError naming file, table, ranges."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the aging configuration ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}: expected a mapping of settings at the top level")
    try:
        return AgingConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(path, e) for e in exc.errors())) from exc


def _describe(path: Path, error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        problem = "unknown field"
    elif error["type"] == "missing":
        problem = "missing"
    else:
        problem = str(error["msg"]).removeprefix("Value error, ")
    return f"{path.name}: {where}: {problem}"


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
    rows = [(None, *row) for row in ranks(config.loan_class.default)]
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
