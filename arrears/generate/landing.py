"""Write the synthetic book as a landing folder, one date folder per snapshot day.

Over 400 lines: one writer per dataset, each a few vectorised column expressions; they share the
block iteration, the CSV/Parquet switch and the progress reporting defined here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from arrears.contract import DATASETS, PAYMENTS, find_dataset
from arrears.errors import ConfigError
from arrears.generate import names
from arrears.generate.book import NEVER, PRODUCTS, Book, build_block, concat_books
from arrears.generate.payments import BATCH_HOURS, draw_payments
from arrears.generate.rand import to_day
from arrears.generate.side import (
    ARRANGEMENT_KINDS,
    CHANNELS,
    HOLD_KINDS,
    OUTCOMES,
    Arrangements,
    ContactChanges,
    Holds,
    draw_arrangements,
    draw_contact_changes,
    draw_contact_events,
    draw_holds,
)
from arrears.generate.state import STATUSES, Loans, on_book, snapshot

Format = Literal["csv", "parquet"]

# New loans opened per day, as a share of the starting book.
NEW_LOANS_PER_DAY = 0.0015
# Loans per processing chunk: bounds memory at about 14 installments per loan.
CHUNK_LOANS = 200_000
# Loans per block of the starting book (part of the seed's meaning: changing it changes the book).
BLOCK_LOANS = 250_000
WORKERS = 2
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%:z"


@dataclass(frozen=True)
class GenerateSummary:
    """What generate_landing wrote."""

    landing: Path
    dates: tuple[date, ...]
    rows: dict[str, int] = field(default_factory=dict)  # per dataset, summed over the dates
    seconds: float = 0.0


def generate_landing(
    landing: Path,
    start: date,
    days: int,
    loans: int,
    seed: int = 7,
    fmt: Format = "csv",
    progress: Callable[[int, int], None] | None = None,
    *,
    skip_optional_every: int = 0,
    payments: bool = False,
    bureau: bool = True,
) -> GenerateSummary:
    """Write `days` consecutive snapshot folders from `start` for a book of about `loans` loans.

    Deterministic: the same arguments give byte-identical files. Date folders written are
    overwritten (files of other formats or datasets left from an earlier run are removed).
    With skip_optional_every = n > 0, every n-th day after the first has no arrangements, holds
    or bureau file, so the previous state must carry forward.
    With bureau (the default), each day has the credit-bureau reports in force: one per listed
    customer, pulled on the 1st of the month (docs/bureau.md).
    With payments, the day after each snapshot also gets that day's intraday payments,
    `<D+1>/payments/payments-<HH>.<fmt>` (the payments made before HH:00, one file per batch;
    the folder of the day after the last snapshot then holds only payments/).
    """
    if days < 1:
        raise ConfigError(f"days must be at least 1, not {days}")
    if loans < 1:
        raise ConfigError(f"loans must be at least 1, not {loans}")
    if fmt not in ("csv", "parquet"):
        raise ConfigError(f"format must be csv or parquet, not {fmt!r}")
    if skip_optional_every < 0:
        raise ConfigError("skip_optional_every must be 0 (never) or positive")

    started = time.perf_counter()
    start_day = to_day(start)
    book = _build_book(seed, start_day, loans, days)
    writer = _Writer(book, seed, start_day, fmt, bureau)
    # Steps: the book, then per day each installment chunk and the remaining files.
    total_steps = 1 + days * (-(-book.loans // CHUNK_LOANS) + 1)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total_steps)

    step()

    landing.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {name: 0 for name in DATASETS}
    dates: list[date] = []
    for k in range(days):
        snapshot_date = start + timedelta(days=k)
        skip_optional = skip_optional_every > 0 and k > 0 and k % skip_optional_every == 0
        written = writer.write_day(
            landing / snapshot_date.isoformat(), start_day + k, skip_optional, step
        )
        for name, count in written.items():
            rows[name] += count
        dates.append(snapshot_date)
        if payments:
            day = snapshot_date + timedelta(days=1)
            rows.setdefault(PAYMENTS.name, 0)
            rows[PAYMENTS.name] += writer.write_payments(
                landing / day.isoformat() / "payments", start_day + k + 1
            )
        step()

    return GenerateSummary(
        landing=landing,
        dates=tuple(dates),
        rows=rows,
        seconds=round(time.perf_counter() - started, 3),
    )


def _build_book(seed: int, start_day: int, loans: int, days: int) -> Book:
    """The starting book plus the loans opened on each later day, each block from its own stream.

    The starting book is drawn in fixed-size blocks (independent of the machine) so that the
    blocks can be drawn on several threads; numpy releases the GIL in its array loops.
    """
    jobs: list[tuple[np.random.Generator, int, int | None]] = [
        (_rng(seed, start_day, 0, b), min(BLOCK_LOANS, loans - lo), None)
        for b, lo in enumerate(range(0, loans, BLOCK_LOANS))
    ]
    per_day = round(loans * NEW_LOANS_PER_DAY)
    if per_day:
        jobs += [(_rng(seed, start_day, k, 0), per_day, start_day + k) for k in range(1, days)]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        parts = list(pool.map(lambda job: build_block(job[0], job[1], start_day, job[2]), jobs))
    return concat_books(parts)


def _rng(seed: int, start_day: int, day: int, block: int) -> np.random.Generator:
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence([seed, start_day, day, block]))
    )


class _Writer:
    """Turns the book's state on a day into the day's files."""

    def __init__(
        self, book: Book, seed: int, start_day: int, fmt: Format, bureau: bool = False
    ) -> None:
        self.book = book
        self.seed = seed
        self.fmt = fmt
        self.bureau = bureau
        self.loan_ids = _ids("LN", book.loan_no, 9)
        self.customer_ids = _ids("CU", book.customer_no, 9)
        self.products = pl.Series(PRODUCTS)
        self.branches = pl.Series([c[5] for c in names.CITIES])
        self.arrangements: Arrangements = draw_arrangements(book, seed)
        self.holds: Holds = draw_holds(book, seed, start_day)
        self.changes: ContactChanges = draw_contact_changes(book, seed, start_day)

    def write_day(
        self, folder: Path, day: int, skip_optional: bool, step: Callable[[], None]
    ) -> dict[str, int]:
        folder.mkdir(parents=True, exist_ok=True)
        book = self.book
        listed = on_book(book, day)
        states: list[Loans] = []

        def compute(lo: int) -> tuple[Loans, pl.DataFrame]:
            hi = min(lo + CHUNK_LOANS, book.loans)
            chunk = np.nonzero(listed[lo:hi])[0] + lo
            state, inst = snapshot(book, day, chunk, self.seed)
            return state, self._installments(inst)

        def installment_chunks() -> Iterator[pl.DataFrame]:
            # The next chunk is computed while the current one is written.
            with ThreadPoolExecutor(max_workers=1) as pool:
                starts = list(range(0, book.loans, CHUNK_LOANS))
                ahead = pool.submit(compute, starts[0])
                for nxt in [*starts[1:], None]:
                    state, frame = ahead.result()
                    if nxt is not None:
                        ahead = pool.submit(compute, nxt)
                    states.append(state)
                    yield frame
                    step()

        counts: dict[str, int] = {}
        counts["installments"] = self._write(folder, "installments", installment_chunks())
        state = Loans(
            *(np.concatenate([getattr(s, f) for s in states]) for f in Loans.__dataclass_fields__)
        )
        counts["loans"] = self._write(folder, "loans", [self._loans(state)])
        customers_listed = np.zeros(len(book.customer_no), dtype=bool)
        customers_listed[book.customer[state.loan]] = True
        counts["customers"] = self._write(
            folder, "customers", [self._customers(np.nonzero(customers_listed)[0], day)]
        )
        if not skip_optional:
            counts["arrangements"] = self._write(
                folder, "arrangements", [self._arrangements(day, listed)]
            )
            counts["holds"] = self._write(
                folder, "holds", [self._holds(day, listed, customers_listed)]
            )
        counts["contact_events"] = self._write(
            folder, "contact_events", [self._contact_events(state, day)]
        )
        if self.bureau and not skip_optional:
            counts["bureau"] = self._write(
                folder, "bureau", [self._bureau(np.nonzero(customers_listed)[0], day)]
            )
        self._remove_stale(folder, set(counts))
        return counts

    def write_payments(self, folder: Path, day: int) -> int:
        """The payments made during `day` (on the loans of day - 1), one file per batch."""
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("payments-*.*"):
            stale.unlink()
        pay = draw_payments(self.book, self.seed, day)
        stamp = (np.int64(day) * 86_400 + pay.seconds - 8 * 3600) * 1_000_000
        day_code = date.fromordinal(day + date(1970, 1, 1).toordinal()).strftime("%Y%m%d")
        frame = pl.DataFrame(
            [
                pl.Series("payment_id", np.arange(1, len(pay.loan) + 1))
                .cast(pl.String)
                .str.zfill(7),
                self.loan_ids.gather(pay.loan).alias("loan_id"),
                pl.Series("paid_at", stamp, dtype=pl.Int64)
                .cast(pl.Datetime("us", "UTC"))
                .dt.convert_time_zone("Asia/Shanghai"),
                _money("amount", pay.cents),
            ]
        ).with_columns(payment_id=pl.lit(f"PM{day_code}-") + pl.col("payment_id"))
        rows = 0
        for b, hour in enumerate(BATCH_HOURS):
            batch = frame.filter(pl.Series(pay.batch == b))
            rows += self._write(folder, f"payments-{hour:02d}", [batch], PAYMENTS.name)
        return rows

    # frames, columns in contract order

    def _installments(self, inst) -> pl.DataFrame:
        return pl.DataFrame(
            [
                self.loan_ids.gather(inst.loan).alias("loan_id"),
                pl.Series("installment_no", inst.inst_no, dtype=pl.Int32),
                _dates("due_date", inst.due),
                _money("principal_due", inst.principal_due),
                _money("interest_due", inst.interest_due),
                _money("fee_due", inst.fee_due),
                _money("penalty_due", inst.penalty_due),
                _money("principal_paid", inst.principal_paid),
                _money("interest_paid", inst.interest_paid),
                _money("fee_paid", inst.fee_paid),
                _money("penalty_paid", inst.penalty_paid),
                _dates("last_payment_date", inst.last_payment),
            ]
        )

    def _loans(self, state: Loans) -> pl.DataFrame:
        book = self.book
        loan = state.loan
        return pl.DataFrame(
            [
                self.loan_ids.gather(loan).alias("loan_id"),
                self.customer_ids.gather(book.customer[loan]).alias("customer_id"),
                self.products.gather(book.product[loan]).alias("product"),
                self.branches.gather(book.customer_city[book.customer[loan]]).alias("branch"),
                pl.Series("currency", ["CNY"] * len(loan), dtype=pl.String),
                _dates("origination_date", book.origination[loan]),
                _dates("maturity_date", book.maturity[loan]),
                _money("principal_amount", book.principal[loan]),
                _money("outstanding_principal", state.outstanding),
                pl.Series(STATUSES).gather(state.status).alias("status"),
                _ints("source_dpd", state.source_dpd, state.source_dpd < 0),
            ]
        )

    def _customers(self, customers: np.ndarray, day: int) -> pl.DataFrame:
        frame = self.book.customers[customers]
        c = self.changes
        new_phone = c.phone_from[customers] <= day
        new_address = c.address_from[customers] <= day
        if new_phone.any() or new_address.any():
            frame = frame.with_columns(
                phone=pl.when(pl.Series(new_phone))
                .then(pl.Series(c.phone[customers], dtype=pl.String))
                .otherwise(pl.col("phone")),
                address=pl.when(pl.Series(new_address))
                .then(pl.Series(c.address[customers], dtype=pl.String))
                .otherwise(pl.col("address")),
            )
        return frame.insert_column(0, self.customer_ids.gather(customers).alias("customer_id"))

    def _arrangements(self, day: int, listed: np.ndarray) -> pl.DataFrame:
        a = self.arrangements
        i = a.in_force(day, listed)
        return pl.DataFrame(
            [
                pl.Series("arrangement_id", a.key[i]).cast(pl.String).str.zfill(11),
                self.loan_ids.gather(a.loan[i]).alias("loan_id"),
                pl.Series(ARRANGEMENT_KINDS).gather(a.kind[i]).alias("kind"),
                _dates("created_date", a.created[i]),
                _dates("promised_date", a.promised[i]),
                _money("promised_amount", a.amount[i]),
                pl.Series("cancelled", a.cancelled_on[i] <= day, dtype=pl.Boolean),
            ]
        ).with_columns(arrangement_id=pl.lit("AR") + pl.col("arrangement_id"))

    def _holds(self, day: int, listed: np.ndarray, customers_listed: np.ndarray) -> pl.DataFrame:
        h = self.holds
        i = h.in_force(day, listed, customers_listed)
        loan = h.loan[i]
        return pl.DataFrame(
            [
                self.customer_ids.gather(h.customer[i]).alias("customer_id"),
                pl.select(
                    pl.when(pl.Series(loan >= 0)).then(self.loan_ids.gather(np.maximum(loan, 0)))
                )
                .to_series()
                .alias("loan_id"),
                pl.Series(HOLD_KINDS).gather(h.kind[i]).alias("kind"),
                _dates("start_date", h.start[i]),
                _dates("end_date", h.end[i]),
            ]
        ).sort("customer_id")

    def _bureau(self, customers: np.ndarray, day: int) -> pl.DataFrame:
        """The reports in force: each listed customer's report pulled on the 1st of the month,
        drawn from the seed and the month alone (the same all month, whatever the book)."""
        first = date.fromordinal(day + date(1970, 1, 1).toordinal()).replace(day=1)
        rng = np.random.Generator(
            np.random.PCG64(np.random.SeedSequence([self.seed, 10, first.toordinal()]))
        )
        n = len(self.book.customer_no)
        score = np.clip(np.rint(rng.normal(660, 90, n)), 300, 950).astype(np.int32)
        accounts = rng.poisson(0.3, n).astype(np.int32)
        overdue = accounts * rng.integers(50_000, 500_000, n)  # cents
        debt = overdue + rng.integers(0, 20_000_000, n)
        inquiries = rng.poisson(1.0, n).astype(np.int32)
        report = first.toordinal() - date(1970, 1, 1).toordinal()
        return pl.DataFrame(
            [
                self.customer_ids.gather(customers).alias("customer_id"),
                _dates("report_date", np.full(len(customers), report)),
                pl.Series("bureau_score", score[customers]),
                pl.Series("external_overdue_accounts", accounts[customers]),
                _money("external_overdue_amount", overdue[customers]),
                _money("external_total_debt", debt[customers]),
                pl.Series("inquiries_90d", inquiries[customers]),
            ]
        )

    def _contact_events(self, state: Loans, day: int) -> pl.DataFrame:
        ev = draw_contact_events(state, self.book, self.seed, day, self.changes)
        n = len(ev.loan)
        stamp = (np.int64(day) * 86_400 + ev.seconds - 8 * 3600) * 1_000_000
        day_code = date.fromordinal(day + date(1970, 1, 1).toordinal()).strftime("%Y%m%d")
        return pl.DataFrame(
            [
                pl.Series("event_id", np.arange(1, n + 1)).cast(pl.String).str.zfill(7),
                pl.Series("action_id", [None] * n, dtype=pl.String),
                self.customer_ids.gather(self.book.customer[ev.loan]).alias("customer_id"),
                self.loan_ids.gather(ev.loan).alias("loan_id"),
                pl.Series(CHANNELS).gather(ev.channel).alias("channel"),
                pl.Series("occurred_at", stamp, dtype=pl.Int64)
                .cast(pl.Datetime("us", "UTC"))
                .dt.convert_time_zone("Asia/Shanghai"),
                pl.Series(OUTCOMES).gather(ev.outcome).alias("outcome"),
            ]
        ).with_columns(event_id=pl.lit(f"EV{day_code}-") + pl.col("event_id"))

    # files

    def _write(
        self, folder: Path, name: str, frames: Iterable[pl.DataFrame], dataset: str | None = None
    ) -> int:
        """Write frames as one file under a temporary name, then rename it into place."""
        final = folder / f"{name}.{self.fmt}"
        tmp = folder / f".{name}.{self.fmt}.tmp"
        rows = 0
        try:
            if self.fmt == "csv":
                with open(tmp, "wb") as fh:
                    for n, frame in enumerate(frames):
                        _check_columns(dataset or name, frame)
                        frame.write_csv(fh, include_header=n == 0, datetime_format=TIMESTAMP_FORMAT)
                        rows += frame.height
            else:
                writer: pq.ParquetWriter | None = None
                try:
                    for frame in frames:
                        _check_columns(dataset or name, frame)
                        table = frame.to_arrow()
                        if writer is None:
                            writer = pq.ParquetWriter(tmp, table.schema)
                        writer.write_table(table)
                        rows += frame.height
                finally:
                    if writer is not None:
                        writer.close()
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        return rows

    def _remove_stale(self, folder: Path, written: set[str]) -> None:
        """Dataset files in the folder that this run did not write would be read as current."""
        for name in DATASETS:
            for ext in ("csv", "parquet"):
                path = folder / f"{name}.{ext}"
                if (name not in written or ext != self.fmt) and path.exists():
                    path.unlink()


def _check_columns(name: str, frame: pl.DataFrame) -> None:
    expected = find_dataset(name).column_names
    if frame.columns != expected:
        raise AssertionError(f"{name}: columns {frame.columns} differ from the contract {expected}")


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    return pl.select(
        pl.lit(prefix) + pl.Series(numbers).cast(pl.String).str.zfill(width)
    ).to_series()


def _money(name: str, cents: np.ndarray) -> pl.Series:
    """Exact DECIMAL(18,2) from integer cents (the cents are the decimal's unscaled value)."""
    cents = np.asarray(cents, dtype=np.int64)
    buf = np.zeros(2 * len(cents), dtype=np.int64)  # little-endian 128-bit two's complement
    buf[0::2] = cents
    if len(cents) and cents.min() < 0:
        buf[1::2] = cents >> 63
    array = pa.Array.from_buffers(pa.decimal128(18, 2), len(cents), [None, pa.py_buffer(buf)])
    return pl.Series(name, array)


def _validity(missing: np.ndarray) -> pa.Buffer | None:
    if not missing.any():
        return None
    return pa.py_buffer(np.packbits(~missing, bitorder="little"))


def _dates(name: str, days: np.ndarray) -> pl.Series:
    """Dates from day numbers; NEVER becomes empty."""
    values = np.ascontiguousarray(days, dtype=np.int32)
    array = pa.Array.from_buffers(
        pa.date32(), len(values), [_validity(values >= NEVER), pa.py_buffer(values)]
    )
    return pl.Series(name, array)


def _ints(name: str, values: np.ndarray, missing: np.ndarray) -> pl.Series:
    values = np.ascontiguousarray(values, dtype=np.int32)
    array = pa.Array.from_buffers(
        pa.int32(), len(values), [_validity(missing), pa.py_buffer(values)]
    )
    return pl.Series(name, array)
