"""Number formatting shared by the markdown summary and the HTML report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")
DASH = "–"


def count(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def counted(value: int, noun: str, plural: str | None = None) -> str:
    """A count with its noun in agreement: 1 loan, 2 loans, 0 loans."""
    return f"{value:,} {noun if value == 1 else plural or noun + 's'}"


def duration(seconds: Decimal | float | None) -> str:
    """Seconds as 42.0 s, 3 min 05 s, 1 h 02 min."""
    if seconds is None:
        return DASH
    whole = int(Decimal(seconds).quantize(Decimal("0.1")) // 1)
    if whole < 60:
        return f"{Decimal(seconds).quantize(Decimal('0.1'))} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def money(value: Decimal | None) -> str:
    return DASH if value is None else f"{Decimal(value).quantize(CENT):,.2f}"


def rate(value: Decimal | None) -> str:
    """A share 0..1 as a percentage with one decimal."""
    return DASH if value is None else f"{Decimal(value) * 100:,.1f}%"


def signed_count(value: int | None) -> str:
    """A change: +3, -2, and 0 without a sign."""
    if value is None:
        return DASH
    return f"{value:+,}" if value else "0"


def signed_money(value: Decimal | None) -> str:
    if value is None:
        return DASH
    return f"{Decimal(value).quantize(CENT):+,.2f}" if value else "0.00"


def json_safe(value: Any) -> Any:
    """Decimals as exact strings and dates as ISO text, so rows serialise as JSON unchanged."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
