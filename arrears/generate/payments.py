"""The intraday payments of a day: what the lender's systems report while the day runs.

A day's payments are exactly what the book's payment histories put on that day (state.py
`payments_on`: the paid columns of the day's snapshot minus those of the day before), so the
next night's snapshot shows them. Borrowers pay at any hour, mostly during the day; a fifth of
the payments arrive in two transfers a few hours apart (the last completes the amount). Partial
payers and rollers' token payments pay less than they owe. The day's payments are cut into
batches by the hour they were made, as a lender's systems export them during the day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arrears.generate.book import Book
from arrears.generate.rand import uniform
from arrears.generate.state import on_book, payments_on

STREAM_PAYMENT = 31
# Batch files of a day: the payments made before each hour (and after the previous one).
BATCH_HOURS = (12, 16, 20, 24)
SPLIT_SHARE = 0.2
DAYTIME_SHARE = 0.9  # paid between 07:00 and 23:00; the rest at any hour


@dataclass
class Payments:
    """A day's payments, ordered by time then loan (arrays aligned row by row)."""

    loan: np.ndarray  # loan index into the book
    seconds: np.ndarray  # seconds after local midnight
    cents: np.ndarray
    batch: np.ndarray  # index into BATCH_HOURS


def draw_payments(book: Book, seed: int, day: int) -> Payments:
    """The payments made during `day` on the loans of the snapshot of day - 1."""
    loan, cents = payments_on(book, day, on_book(book, day - 1))
    keys = book.loan_no[loan]
    u_time = uniform(seed, STREAM_PAYMENT, day, keys)
    u_split = uniform(seed, STREAM_PAYMENT + 1, day, keys)
    u_daytime = uniform(seed, STREAM_PAYMENT + 2, day, keys)
    daytime = u_daytime < DAYTIME_SHARE
    first = np.where(daytime, 7 * 3600 + u_time * 16 * 3600, u_time * 86_400).astype(np.int64)

    # Split: 30-70 % first, the rest 1-6 hours later (still the same day), whole cents each.
    split = (u_split < SPLIT_SHARE) & (cents >= 2) & (first < 86_400 - 3600)
    part = np.maximum((cents * (0.3 + 0.4 * (u_split / SPLIT_SHARE))).astype(np.int64), 1)
    part = np.where(split, np.minimum(part, cents - 1), cents)
    later = np.minimum(first + 3600 + (u_time * 5 * 3600).astype(np.int64), 86_399)

    loan_all = np.concatenate([loan, loan[split]])
    seconds = np.concatenate([first, later[split]])
    amount = np.concatenate([part, (cents - part)[split]])
    order = np.lexsort((book.loan_no[loan_all], seconds))
    seconds = seconds[order]
    return Payments(
        loan=loan_all[order],
        seconds=seconds,
        cents=amount[order],
        batch=np.searchsorted(np.array(BATCH_HOURS) * 3600, seconds, side="right"),
    )
