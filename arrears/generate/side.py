"""Arrangements, holds, contact events and contact data changes that go with the book.

Arrangements and holds are drawn once for the whole book, each with the days it is in force;
a day's file is the slice in force that day. Contact events are drawn per day from the day's
delinquent loans, with keyed randomness, so each day's increment stands on its own. Some
customers get a new phone or address on a day drawn once for the book; in the weeks before,
their old one tends to be reported bad (wrong party, returned letters, visits that find no one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arrears.contract import CHANNELS, HOLD_KINDS, OUTCOMES  # noqa: F401 (landing.py uses them)
from arrears.generate import names
from arrears.generate.book import LATE_CURE, NEVER, PARTIAL, ROLLER, Book
from arrears.generate.rand import hash64, uniform
from arrears.generate.state import ACTIVE, CHARGED_OFF, Loans

PROMISE_TO_PAY, INSTALLMENT_PLAN = 0, 1
ARRANGEMENT_KINDS = ("PROMISE_TO_PAY", "INSTALLMENT_PLAN")
# An arrangement stays in the file this long after its promised date, so its outcome is seen.
ARRANGEMENT_VISIBLE_DAYS = 30

HOLD_WEIGHTS = np.array([25, 25, 15, 3, 4, 8, 20], dtype=np.float64)
HOLD_SHARE = 0.015
# Kinds that end (the others stay open until the file says otherwise).
HOLD_ENDS = np.array([True, True, False, False, False, False, True])

# Channel mix by dpd band (1-7, 8-30, 31-60, 61-90, 91+), columns in CHANNELS order.
CHANNEL_MIX = np.array(
    [
        [0.80, 0.20, 0.00, 0.00, 0.00, 0.00],
        [0.30, 0.70, 0.00, 0.00, 0.00, 0.00],
        [0.15, 0.60, 0.05, 0.20, 0.00, 0.00],
        [0.00, 0.50, 0.00, 0.25, 0.25, 0.00],
        [0.00, 0.45, 0.00, 0.30, 0.15, 0.10],
    ]
)
DPD_BANDS = np.array([8, 31, 61, 91])
# Outcome mix per channel, columns in OUTCOMES order.
OUTCOME_MIX = np.array(
    [
        [0.93, 0.07, 0, 0, 0, 0, 0, 0, 0, 0],  # SMS
        [0, 0.02, 0.45, 0.25, 0.06, 0.12, 0.08, 0.02, 0, 0],  # CALL
        [0.90, 0.10, 0, 0, 0, 0, 0, 0, 0, 0],  # EMAIL
        [0.92, 0.08, 0, 0, 0, 0, 0, 0, 0, 0],  # LETTER: FAILED is a returned letter
        [0, 0, 0, 0, 0, 0.15, 0.10, 0, 0.50, 0.25],  # VISIT
        [0.95, 0.05, 0, 0, 0, 0, 0, 0, 0, 0],  # LEGAL
    ]
)
# Share of the day's delinquent loans that see a contact reported back.
CONTACT_SHARE = 0.35

# Customers who get a new phone / address, on a day within CHANGE_DAYS of the start; in the
# REPORTED_BEFORE_DAYS before it, a contact on the old one is reported bad this often. Shares
# for (other customers, customers with a rolling loan): the ones being chased are the ones
# whose contact data goes stale.
PHONE_CHANGE_SHARE = (0.01, 0.30)
ADDRESS_CHANGE_SHARE = (0.01, 0.20)
CHANGE_DAYS = 30
REPORTED_BEFORE_DAYS = 21
REPORTED_BAD_SHARE = 0.6

STREAM_ARRANGEMENT, STREAM_HOLD, STREAM_EVENT, STREAM_CHANGE = 21, 22, 23, 27


@dataclass
class Arrangements:
    key: np.ndarray  # int64, unique: installment row * 10 + kind
    loan: np.ndarray
    kind: np.ndarray
    created: np.ndarray
    promised: np.ndarray
    amount: np.ndarray  # cents
    cancelled_on: np.ndarray  # NEVER = not cancelled

    def in_force(self, day: int, loans_on_book: np.ndarray) -> np.ndarray:
        """Indices of arrangements in the day's file."""
        keep = (
            (self.created <= day)
            & (day <= self.promised + ARRANGEMENT_VISIBLE_DAYS)
            & loans_on_book[self.loan]
        )
        return np.nonzero(keep)[0]


def draw_arrangements(book: Book, seed: int) -> Arrangements:
    """Promises and plans on late installments: kept when the payment came, broken when not."""
    behaviour_all = book.behaviour[book.inst_loan]
    rows = np.nonzero(
        (behaviour_all == LATE_CURE) | (behaviour_all == PARTIAL) | (behaviour_all == ROLLER)
    )[0]
    behaviour = behaviour_all[rows]
    h = hash64(seed, STREAM_ARRANGEMENT, 0, rows)
    u = (h >> np.uint64(11)).astype(np.float64) * (2.0**-53)
    r1 = (h & np.uint64(0xFFFFF)).astype(np.int64)
    r2 = ((h >> np.uint64(20)) & np.uint64(0xFFFFF)).astype(np.int64)
    due = book.due[rows].astype(np.int64)
    paid_on = book.paid_on[rows].astype(np.int64)
    settled_on = book.settled_on[rows].astype(np.int64)
    share = book.share[rows].astype(np.int64)
    inst_no = book.inst_no[rows]
    full = share >= 1000
    pi = book.principal_due[rows] + book.interest_due[rows]
    base = pi + book.fee_due[rows]
    lateness = np.where(paid_on >= NEVER, 0, paid_on - due)

    parts: list[tuple[np.ndarray, ...]] = []

    def add(mask, kind, created, promised, amount):
        parts.append(
            (
                rows[mask],
                np.full(int(mask.sum()), kind),
                created[mask],
                promised[mask],
                amount[mask],
            )
        )

    # Late payers promise a few days before they pay (kept) ...
    kept = (behaviour == LATE_CURE) & full & (lateness >= 5) & (u < 0.35)
    created = due + 1 + r1 % np.maximum(lateness - 2, 1)
    add(kept, PROMISE_TO_PAY, created, paid_on + r2 % 4, base)
    # ... or promise a date they then miss, paying later (broken).
    broken = (behaviour == LATE_CURE) & full & (lateness >= 10) & (u >= 0.35) & (u < 0.45)
    add(broken, PROMISE_TO_PAY, due + 2, due + 3 + (lateness - 4) // 2, base)

    # Partial payers promise what is left after their first payment and pay it (kept).
    partial = (behaviour == PARTIAL) & ~full & (settled_on < NEVER) & (u < 0.3)
    due_then = base + pi * np.clip(paid_on - due, 0, 180) * 5 // 10_000
    rest = np.maximum(due_then - due_then * share // 1000, 100)
    add(partial, PROMISE_TO_PAY, paid_on + 1, settled_on + r2 % 3, rest)

    # Rollers promise on the installment where they stopped paying, and break it; a few get a plan.
    settled_all = book.settled_day()
    unsettled = settled_all[rows] >= NEVER
    prev_unsettled = settled_all[np.maximum(rows - 1, 0)] >= NEVER
    stopped = (behaviour == ROLLER) & unsettled & ((inst_no == 1) | ~prev_unsettled)
    ptp = stopped & (u < 0.5)
    created = due + 5 + r1 % 36
    add(ptp, PROMISE_TO_PAY, created, created + 3 + r2 % 8, base)
    plan = stopped & (u >= 0.5) & (u < 0.6)
    terms = (book.inst_start[1:] - book.inst_start[:-1])[book.inst_loan[rows]]
    created = due + 30 + r1 % 61
    remaining = book.principal_due[rows] * (terms - inst_no + 1)
    add(plan, INSTALLMENT_PLAN, created, created + 90 + r2 % 91, remaining)

    row, kind, created, promised, amount = (np.concatenate(c) for c in zip(*parts, strict=True))
    order = np.lexsort((kind, row))
    row, kind, created, promised, amount = (
        a[order] for a in (row, kind, created, promised, amount)
    )
    hc = hash64(seed, STREAM_ARRANGEMENT, 1, row * 10 + kind)
    cancel = (hc >> np.uint64(11)).astype(np.float64) * (2.0**-53) < 0.06
    cancelled_on = np.where(cancel, created + 1 + (hc % np.uint64(3)).astype(np.int64), NEVER)
    return Arrangements(
        key=row * 10 + kind,
        loan=book.inst_loan[row].astype(np.int64),
        kind=kind.astype(np.int8),
        created=created,
        promised=promised,
        amount=amount.astype(np.int64),
        cancelled_on=cancelled_on,
    )


@dataclass
class Holds:
    customer: np.ndarray
    loan: np.ndarray  # -1 = every loan of the customer
    kind: np.ndarray
    start: np.ndarray
    end: np.ndarray  # NEVER = open

    def in_force(
        self, day: int, loans_on_book: np.ndarray, customers_on_book: np.ndarray
    ) -> np.ndarray:
        keep = (
            (self.start <= day)
            & (self.end >= day)
            & customers_on_book[self.customer]
            & ((self.loan < 0) | loans_on_book[np.maximum(self.loan, 0)])
        )
        return np.nonzero(keep)[0]


def draw_holds(book: Book, seed: int, start: int) -> Holds:
    """One hold for a small share of customers, starting over the months around the start."""
    n_customers = len(book.customer_no)
    h = hash64(seed, STREAM_HOLD, 0, book.customer_no)
    u = (h >> np.uint64(11)).astype(np.float64) * (2.0**-53)
    customers = np.nonzero(u < HOLD_SHARE)[0]
    hk = hash64(seed, STREAM_HOLD, 1, book.customer_no[customers])
    uk = (hk >> np.uint64(11)).astype(np.float64) * (2.0**-53)
    cum = np.cumsum(HOLD_WEIGHTS) / HOLD_WEIGHTS.sum()
    kind = np.minimum(np.searchsorted(cum, uk, side="right"), len(HOLD_KINDS) - 1)
    r = (hk % np.uint64(1_000_003)).astype(np.int64)
    hold_start = start - 180 + r % 241
    end = np.where(HOLD_ENDS[kind], hold_start + 14 + (r // 241) % 77, NEVER)
    # A dispute or complaint is usually about one loan: the customer's first.
    first_loan = np.full(n_customers, -1, dtype=np.int64)
    first_loan[book.customer[::-1]] = np.arange(book.loans - 1, -1, -1)
    loan_level = (kind <= 1) & ((r // 100_000) % 10 < 6)
    loan = np.where(loan_level, first_loan[customers], -1)
    return Holds(
        customer=customers, loan=loan, kind=kind.astype(np.int8), start=hold_start, end=end
    )


@dataclass
class ContactChanges:
    """Per customer: the day a new phone / address replaces the old one (NEVER: none), and it."""

    phone_from: np.ndarray
    phone: np.ndarray  # object: the new phone, in the form of the old one
    address_from: np.ndarray
    address: np.ndarray  # object: the new address (same city)

    def reported_bad_soon(self, which: np.ndarray, day: int) -> np.ndarray:
        """Customers whose value of `which` (a *_from array, indexed by them) changes soon."""
        return (which > day) & (which - day <= REPORTED_BEFORE_DAYS)


def draw_contact_changes(book: Book, seed: int, start: int) -> ContactChanges:
    """A small share of customers moves or changes number, once, in the first weeks."""
    keys = book.customer_no
    rolling = np.zeros(len(keys), dtype=np.int64)
    rolling[book.customer[book.behaviour == ROLLER]] = 1
    h = hash64(seed, STREAM_CHANGE, 0, keys)
    day = start + 2 + (h % np.uint64(CHANGE_DAYS)).astype(np.int64)
    phone_share = np.array(PHONE_CHANGE_SHARE)[rolling]
    address_share = np.array(ADDRESS_CHANGE_SHARE)[rolling]
    phone_from = np.where(uniform(seed, STREAM_CHANGE, 1, keys) < phone_share, day, NEVER)
    address_from = np.where(uniform(seed, STREAM_CHANGE, 2, keys) < address_share, day + 3, NEVER)

    r = hash64(seed, STREAM_CHANGE, 3, keys)
    prefixes = np.array(names.MOBILE_PREFIXES, dtype=np.int64)
    prefix = prefixes[(r % np.uint64(len(prefixes))).astype(np.int64)]
    mobile = prefix * 10**8 + ((r >> np.uint64(8)) % np.uint64(10**8)).astype(np.int64)
    old = book.customers["phone"].to_numpy()
    phone = np.array(
        [
            ("+86" if isinstance(o, str) and o.startswith("+86") else "") + str(m)
            for o, m in zip(old, mobile, strict=True)
        ],
        dtype=object,
    )
    district = np.array([c[2] for c in names.CITIES], dtype=object)[book.customer_city]
    street = np.array(names.STREETS, dtype=object)[
        ((r >> np.uint64(40)) % np.uint64(len(names.STREETS))).astype(np.int64)
    ]
    house = ((r >> np.uint64(50)) % np.uint64(999)).astype(np.int64) + 1
    address = district + street + house.astype(str).astype(object) + "号"
    return ContactChanges(
        phone_from=phone_from, phone=phone, address_from=address_from, address=address
    )


@dataclass
class ContactEvents:
    loan: np.ndarray
    channel: np.ndarray
    outcome: np.ndarray
    seconds: np.ndarray  # seconds after local midnight of the day


def draw_contact_events(
    state: Loans, book: Book, seed: int, day: int, changes: ContactChanges | None = None
) -> ContactEvents:
    """The day's reported contacts: a share of delinquent loans, 1-2 events each, 08:00-21:00.

    With `changes`, a contact on a phone or address about to be replaced is often reported
    bad: WRONG_PARTY on SMS and CALL, FAILED on LETTER, NOT_FOUND on VISIT."""
    open_loan = (state.status == ACTIVE) | (state.status == CHARGED_OFF)
    candidates = np.nonzero(open_loan & (state.dpd >= 1))[0]
    loan = state.loan[candidates]
    dpd = state.dpd[candidates]
    u = uniform(seed, STREAM_EVENT, day, book.loan_no[loan])
    picked = u < CONTACT_SHARE
    loan, dpd, u = loan[picked], dpd[picked], u[picked]
    count = np.where(u < CONTACT_SHARE * 0.3, 2, 1)
    loan = np.repeat(loan, count)
    dpd = np.repeat(dpd, count)
    nth = np.arange(len(loan)) - np.repeat(np.cumsum(count) - count, count)
    keys = book.loan_no[loan] * 2 + nth
    u_channel = uniform(seed, STREAM_EVENT + 1, day, keys)
    u_outcome = uniform(seed, STREAM_EVENT + 2, day, keys)
    u_time = uniform(seed, STREAM_EVENT + 3, day, keys)
    band = np.searchsorted(DPD_BANDS, dpd, side="right")
    channel_cum = np.cumsum(CHANNEL_MIX, axis=1)[band]
    channel = np.minimum((u_channel[:, None] >= channel_cum).sum(axis=1), len(CHANNELS) - 1)
    outcome_cum = np.cumsum(OUTCOME_MIX, axis=1)[channel]
    outcome = np.minimum((u_outcome[:, None] >= outcome_cum).sum(axis=1), len(OUTCOMES) - 1)
    if changes is not None:
        outcome = _reported_bad(outcome, channel, book.customer[loan], changes, seed, day, keys)
    seconds = 8 * 3600 + (u_time * 13 * 3600).astype(np.int64)
    order = np.lexsort((keys, seconds))
    return ContactEvents(
        loan=loan[order],
        channel=channel[order].astype(np.int8),
        outcome=outcome[order].astype(np.int8),
        seconds=seconds[order],
    )


def _reported_bad(
    outcome: np.ndarray,
    channel: np.ndarray,
    customer: np.ndarray,
    changes: ContactChanges,
    seed: int,
    day: int,
    keys: np.ndarray,
) -> np.ndarray:
    bad = uniform(seed, STREAM_EVENT + 4, day, keys) < REPORTED_BAD_SHARE
    phone_soon = changes.reported_bad_soon(changes.phone_from[customer], day)
    address_soon = changes.reported_bad_soon(changes.address_from[customer], day)
    sms, call, letter, visit = (CHANNELS.index(c) for c in ("SMS", "CALL", "LETTER", "VISIT"))
    reported = outcome.copy()
    reported[bad & phone_soon & ((channel == sms) | (channel == call))] = OUTCOMES.index(
        "WRONG_PARTY"
    )
    reported[bad & address_soon & (channel == letter)] = OUTCOMES.index("FAILED")
    reported[bad & address_soon & (channel == visit)] = OUTCOMES.index("NOT_FOUND")
    return reported
