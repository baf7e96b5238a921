"""Days-past-due ranges as the rule files write them: `0`, `1-30`, `181+`.

A strategy stage holds when the dpd is in one range; a range table of aging.yaml (buckets, loan
classes, IFRS 9 stages) labels ranges that together hold every dpd from 0 up exactly once.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

_RANGE = re.compile(r"^\s*(\d+)\s*(?:(-)\s*(\d+)|(\+))?\s*$")


class EmptyRange(ValueError):
    """A range that ends before it starts (`90-61`)."""

    def __init__(self, low: int, high: int) -> None:
        super().__init__(f"{low}-{high} is empty")
        self.low = low
        self.high = high


class DpdRange(BaseModel):
    """Inclusive days-past-due range; `max_dpd` None means no upper end (`91+`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_dpd: int
    max_dpd: int | None

    @staticmethod
    def parse(spec: object) -> DpdRange:
        """`0`, `"8-30"` or `"91+"`; anything else raises ValueError (EmptyRange if reversed)."""
        match = _RANGE.match(str(spec)) if isinstance(spec, int | str) else None
        if match is None or isinstance(spec, bool):
            raise ValueError(f"{spec!r} is not a dpd range (write 0, 1-30 or 181+)")
        low = int(match.group(1))
        if match.group(4):
            return DpdRange(min_dpd=low, max_dpd=None)
        high = int(match.group(3)) if match.group(2) else low
        if high < low:
            raise EmptyRange(low, high)
        return DpdRange(min_dpd=low, max_dpd=high)

    @property
    def text(self) -> str:
        """The shortest spelling, as a range table writes it: `0`, `1-30`, `181+`."""
        if self.max_dpd is None:
            return f"{self.min_dpd}+"
        if self.max_dpd == self.min_dpd:
            return str(self.min_dpd)
        return f"{self.min_dpd}-{self.max_dpd}"

    def __str__(self) -> str:
        # Both ends, even of a single day (`0-0`): read as a stage's condition.
        if self.max_dpd is None:
            return f"{self.min_dpd}+"
        return f"{self.min_dpd}-{self.max_dpd}"


class LabelledRange(DpdRange):
    """One row of a range table: `label` holds for min_dpd <= dpd <= max_dpd."""

    label: str

    def __str__(self) -> str:
        return f"{self.label} ({self.text})"


def _parse_table(value: Any) -> list[LabelledRange]:
    """`{M1: "1-30", M7: "181+", M0: 0}` -> ranges in file order."""
    if isinstance(value, list) and value and all(isinstance(v, LabelledRange) for v in value):
        return value
    if not isinstance(value, dict) or not value:
        raise ValueError('must map each label to a dpd range, e.g. M1: "1-30"')
    rows = []
    for label, spec in value.items():
        try:
            bounds = DpdRange.parse(spec)
        except EmptyRange as exc:
            raise ValueError(
                f"{label} ({exc.low}-{exc.high}): the range ends before it starts"
            ) from None
        except ValueError as exc:
            raise ValueError(f"{label}: {exc}") from None
        rows.append(LabelledRange(label=str(label), min_dpd=bounds.min_dpd, max_dpd=bounds.max_dpd))
    return rows


def _check_coverage(ranges: list[LabelledRange]) -> list[LabelledRange]:
    """Every dpd from 0 to infinity falls in exactly one range; returns them sorted."""
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


# A range table field: written as {label: range}, validated for coverage, sorted by lower bound.
RangeTable = Annotated[
    list[LabelledRange], BeforeValidator(_parse_table), AfterValidator(_check_coverage)
]
