"""Keyed randomness and calendar arithmetic on numpy arrays.

Per-day draws (contact events, source_dpd slips) come from a hash of (seed, stream, day, key)
rather than from a sequential generator, so the state of any day is computed on its own and
does not depend on which other days were generated or in what order.
"""

from __future__ import annotations

from datetime import date

import numpy as np

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def to_day(d: date) -> int:
    """Days since 1970-01-01 (the physical value of a polars/arrow Date)."""
    return d.toordinal() - EPOCH_ORDINAL


def _mix(x: np.ndarray) -> np.ndarray:
    # splitmix64 finaliser; uint64 array arithmetic wraps modulo 2**64 by design.
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def hash64(seed: int, stream: int, day: int, keys: np.ndarray) -> np.ndarray:
    """A well mixed uint64 per key, fixed by (seed, stream, day)."""
    salt = _mix(np.array([seed * 1_000_003 + stream * 7_919 + day], dtype=np.uint64))[0]
    return _mix(keys.astype(np.uint64) ^ salt)


def uniform(seed: int, stream: int, day: int, keys: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) floats keyed like hash64."""
    return (hash64(seed, stream, day, keys) >> np.uint64(11)).astype(np.float64) * (2.0**-53)


def civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of day numbers; integer arithmetic (H. Hinnant's civil_from_days)."""
    z = days.astype(np.int64) + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = yoe + era * 400 + (m <= 2)
    return y, m, d


def from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Day numbers of (year, month, day); the inverse of civil()."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(m > 2, m - 3, m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def day_of_month(days: np.ndarray) -> np.ndarray:
    return civil(days)[2]


def add_months(days: np.ndarray, months: np.ndarray, dom: np.ndarray) -> np.ndarray:
    """The date `months` calendar months after `days`, on day-of-month `dom` (<= 28)."""
    y, m, _ = civil(days)
    index = y * 12 + (m - 1) + months.astype(np.int64)
    return from_civil(index // 12, index % 12 + 1, dom.astype(np.int64)).astype(np.int32)


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return civil(days)
