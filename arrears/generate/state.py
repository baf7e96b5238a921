"""The state of the book at the end of one day, as a pure function of the book and the day.

An installment's payments: on `paid_on` the borrower pays `share` permille of what is then due
(principal, interest, fee and the penalty accrued so far); on `settled_on` the rest. Payments are
allocated interest first, then principal, fee, penalty. Because the amount paid so far only grows
with the day and the dues other than the penalty are fixed, every paid column is non-decreasing
from one day to the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arrears.generate.book import NEVER, PENALTY_BP_PER_DAY, PENALTY_MAX_DAYS, Book
from arrears.generate.rand import hash64

ACTIVE, CLOSED, CHARGED_OFF, WRITTEN_OFF = range(4)
STATUSES = ("ACTIVE", "CLOSED", "CHARGED_OFF", "WRITTEN_OFF")

# Closed loans stay on the file this many days after their last payment.
CLOSED_VISIBLE_DAYS = 30
# An installment counts as overdue above this unpaid amount (cents), as the aging rule does.
TOLERANCE_CENTS = 100
CHARGE_OFF_DPD = 180
WRITE_OFF_DPD = 360
# Share of (loan, day) pairs whose source_dpd disagrees with the schedule.
SOURCE_DPD_SLIP = 0.015

STREAM_SOURCE_DPD = 11


def on_book(book: Book, day: int) -> np.ndarray:
    """Loans in the day's loans file: originated, and not closed for long."""
    return (book.origination <= day) & (book.closed_on >= day - CLOSED_VISIBLE_DAYS)


@dataclass
class Installments:
    """Installments of a set of loans at one day (arrays aligned row by row)."""

    loan: np.ndarray
    inst_no: np.ndarray
    due: np.ndarray
    principal_due: np.ndarray
    interest_due: np.ndarray
    fee_due: np.ndarray
    penalty_due: np.ndarray
    principal_paid: np.ndarray
    interest_paid: np.ndarray
    fee_paid: np.ndarray
    penalty_paid: np.ndarray
    last_payment: np.ndarray  # NEVER = no payment yet


@dataclass
class Loans:
    """Per loan at one day."""

    loan: np.ndarray
    dpd: np.ndarray
    status: np.ndarray
    outstanding: np.ndarray
    source_dpd: np.ndarray  # -1 = not reported


def _penalty(principal_interest: np.ndarray, due: np.ndarray, until: np.ndarray) -> np.ndarray:
    days = np.clip(until.astype(np.int64) - due, 0, PENALTY_MAX_DAYS)
    return principal_interest * days * PENALTY_BP_PER_DAY // 10_000


def _paid(
    book: Book, rows: np.ndarray, day: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per installment row at the end of `day`: paid so far, the penalty due, and whether the
    first payment (only) or the settlement has been made."""
    due = book.due[rows].astype(np.int64)
    p_due = book.principal_due[rows]
    i_due = book.interest_due[rows]
    f_due = book.fee_due[rows]
    paid_on = book.paid_on[rows]
    share = book.share[rows].astype(np.int64)
    settled_on = book.settled_on[rows]

    full_first = share >= 1000
    settled = np.where(full_first, paid_on, settled_on)
    pi = p_due + i_due
    base = pi + f_due
    pen_due = _penalty(pi, due, np.minimum(settled, day))

    second = ~full_first & (day >= settled_on)
    first = (day >= paid_on) & ~second
    first_amount = base + _penalty(pi, due, paid_on)
    first_amount = np.where(full_first, first_amount, first_amount * share // 1000)
    paid = np.where(second, base + pen_due, np.where(first, first_amount, 0))
    return paid, pen_due, first, second


def payments_on(book: Book, day: int, loans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What each of `loans` (a boolean mask over the book) was paid during `day`, in cents:
    (loan indices, amounts), only loans with a payment. The difference of the paid columns
    between the snapshots of day - 1 and day, so the next snapshot shows exactly these."""
    rows = np.nonzero((book.paid_on == day) | (book.settled_on == day))[0]
    rows = rows[loans[book.inst_loan[rows]]]
    delta = _paid(book, rows, day)[0] - _paid(book, rows, day - 1)[0]
    paid = delta > 0
    rows, delta = rows[paid], delta[paid]
    loan = book.inst_loan[rows].astype(np.int64)
    order = np.argsort(loan, kind="stable")
    loan, delta = loan[order], delta[order]
    found, starts = np.unique(loan, return_index=True)
    if not len(found):
        return found, np.zeros(0, dtype=np.int64)
    return found, np.add.reduceat(delta, starts).astype(np.int64)


def snapshot(book: Book, day: int, loans: np.ndarray, seed: int) -> tuple[Loans, Installments]:
    """State at the end of `day` of the given loans (sorted loan indices)."""
    counts = (book.inst_start[1:] - book.inst_start[:-1])[loans]
    starts = np.zeros(len(loans), dtype=np.int64)
    if len(loans):
        np.cumsum(counts[:-1], out=starts[1:])
    # Installment rows of the selected loans, in loan order.
    rows = np.repeat(book.inst_start[loans] - starts, counts) + np.arange(
        int(counts.sum()), dtype=np.int64
    )

    due = book.due[rows].astype(np.int64)
    p_due = book.principal_due[rows]
    i_due = book.interest_due[rows]
    f_due = book.fee_due[rows]
    paid_on = book.paid_on[rows]
    settled_on = book.settled_on[rows]

    paid, pen_due, first, second = _paid(book, rows, day)
    base = p_due + i_due + f_due

    i_paid = np.minimum(paid, i_due)
    rest = paid - i_paid
    p_paid = np.minimum(rest, p_due)
    rest -= p_paid
    f_paid = np.minimum(rest, f_due)
    pen_paid = rest - f_paid
    last_payment = np.where(second, settled_on, np.where(first, paid_on, NEVER))

    unpaid = base + pen_due - paid
    overdue = (due < day) & (unpaid > TOLERANCE_CENTS)
    if len(loans):
        oldest = np.minimum.reduceat(np.where(overdue, due, NEVER), starts)
        principal_paid = np.add.reduceat(p_paid, starts)
    else:
        oldest = np.zeros(0, dtype=np.int64)
        principal_paid = np.zeros(0, dtype=np.int64)
    dpd = np.where(oldest >= NEVER, 0, day - oldest)

    closed = book.closed_on[loans] <= day
    status = np.where(
        closed,
        CLOSED,
        np.where(
            (dpd > WRITE_OFF_DPD) & book.written_off_later[loans],
            WRITTEN_OFF,
            np.where(dpd > CHARGE_OFF_DPD, CHARGED_OFF, ACTIVE),
        ),
    ).astype(np.int8)

    # The source system's own dpd: usually right, now and then off by a few days.
    h = hash64(seed, STREAM_SOURCE_DPD, day, book.loan_no[loans])
    slip = (h >> np.uint64(11)).astype(np.float64) * (2.0**-53) < SOURCE_DPD_SLIP
    offset = (h % np.uint64(10)).astype(np.int64) + 1
    lower = ((h >> np.uint64(8)) & np.uint64(1)).astype(bool) & (dpd >= offset)
    reported = np.where(slip, np.where(lower, dpd - offset, dpd + offset), dpd)
    source_dpd = np.where(book.reports_dpd[loans], reported, -1)

    loan_state = Loans(
        loan=loans,
        dpd=dpd,
        status=status,
        outstanding=book.principal[loans] - principal_paid,
        source_dpd=source_dpd,
    )
    inst_state = Installments(
        loan=book.inst_loan[rows],
        inst_no=book.inst_no[rows],
        due=due,
        principal_due=p_due,
        interest_due=i_due,
        fee_due=f_due,
        penalty_due=pen_due,
        principal_paid=p_paid,
        interest_paid=i_paid,
        fee_paid=f_paid,
        penalty_paid=pen_paid,
        last_payment=last_payment,
    )
    return loan_state, inst_state
