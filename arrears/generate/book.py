"""The loan book behind a synthetic landing folder, drawn once from the seed.

Every loan carries its schedule and, per installment, a deterministic payment history: the day of
a first payment (`paid_on`), the share of the then-due amount it covered (`share`, in permille),
and the day the remainder was settled (`settled_on`). The snapshot of any day is then a pure
function of these arrays and the day (see state.py), so consecutive days agree by construction.
(Over 400 lines on purpose: the draws consume one random stream in a fixed order, and that
order, which the seed's reproducibility depends on, is easiest to keep intact in one place.)

All amounts are integer cents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from arrears.generate import names
from arrears.generate.rand import add_months, civil, day_of_month, from_civil, ymd

# A day that never comes (fits int32, far beyond any snapshot).
NEVER = np.int32(2**30)

# Products: name, share of the book, terms and their weights, days between installments
# (0 = calendar month), principal range in yuan, annual rate range in basis points.
PRODUCTS = ("consumer_loan", "microloan", "credit_card", "auto_loan")
PRODUCT_SHARES = (0.45, 0.30, 0.18, 0.07)
CONSUMER, MICRO, CARD, AUTO = range(4)

# Payment behaviour of a borrower, fixed per loan.
ON_TIME, LATE_CURE, PARTIAL, ROLLER, PREPAY = range(5)
BEHAVIOUR_SHARES = (0.72, 0.12, 0.06, 0.07, 0.03)

# Late-payment penalty: 5 basis points of the overdue principal and interest per day (0.05 %/day,
# the usual mainland rate), for at most 180 days.
PENALTY_BP_PER_DAY = 5
PENALTY_MAX_DAYS = 180

# Loans originate at most this many days before the first snapshot.
MAX_AGE_DAYS = 1095


@dataclass
class Book:
    """Loans, their customers and their installments; installments are grouped by loan."""

    # loans
    loan_no: np.ndarray  # int64, the number in the loan id
    customer: np.ndarray  # int64 index into the customer arrays of this book
    product: np.ndarray  # int8 index into PRODUCTS
    origination: np.ndarray  # int32 day
    maturity: np.ndarray  # int32 day, NEVER when open-ended (cards)
    principal: np.ndarray  # int64 cents
    behaviour: np.ndarray  # int8
    written_off_later: np.ndarray  # bool: charged-off loans that are later written off
    reports_dpd: np.ndarray  # bool: the source system sends source_dpd for this loan
    closed_on: np.ndarray  # int32 day the last installment was settled, NEVER if not
    inst_start: np.ndarray  # int64 offsets, len = loans + 1
    # installments
    inst_loan: np.ndarray  # int32 loan index
    inst_no: np.ndarray  # int32, 1-based
    due: np.ndarray  # int32 day
    principal_due: np.ndarray  # int64 cents
    interest_due: np.ndarray  # int64 cents
    fee_due: np.ndarray  # int64 cents
    paid_on: np.ndarray  # int32 day of the first payment, NEVER if none
    share: np.ndarray  # int32 permille of the then-due total paid on paid_on (1000 = all)
    settled_on: np.ndarray  # int32 day the rest was paid (NEVER if not; unused when share=1000)
    # customers
    customer_no: np.ndarray  # int64, the number in the customer id
    customer_city: np.ndarray  # int64 index into names.CITIES
    customers: pl.DataFrame  # contract columns except customer_id, one row per customer

    @property
    def loans(self) -> int:
        return len(self.loan_no)

    @property
    def branch(self) -> np.ndarray:
        return self.customer_city[self.customer]

    def settled_day(self) -> np.ndarray:
        """Per installment: the day it was fully paid (NEVER if not)."""
        return np.where(self.share >= 1000, self.paid_on, self.settled_on)


def build_block(rng: np.random.Generator, n: int, start: int, originated_on: int | None) -> Book:
    """n loans; the base book when originated_on is None, else n loans opened that day."""
    new = originated_on is not None
    if new:
        cust_of_loan = np.arange(n, dtype=np.int64)
        n_customers = n
    else:
        per_customer = rng.choice(4, size=n, p=[0.78, 0.15, 0.05, 0.02]) + 1
        owners = np.repeat(np.arange(n, dtype=np.int64), per_customer)[:n]
        n_customers = int(owners[-1]) + 1
        cust_of_loan = rng.permutation(owners)

    product = rng.choice(4, size=n, p=PRODUCT_SHARES).astype(np.int8)
    behaviour = rng.choice(5, size=n, p=BEHAVIOUR_SHARES).astype(np.int8)

    # terms and spacing
    terms = np.empty(n, dtype=np.int64)
    period = np.zeros(n, dtype=np.int64)  # 0 = monthly
    m = product == CONSUMER
    terms[m] = rng.choice([12, 18, 24, 36], size=m.sum(), p=[0.45, 0.2, 0.25, 0.1])
    m = product == MICRO
    terms[m] = rng.choice([3, 4, 6], size=m.sum(), p=[0.4, 0.3, 0.3])
    period[m] = rng.choice([7, 14, 0], size=m.sum(), p=[0.3, 0.3, 0.4])
    terms[product == CARD] = 12
    m = product == AUTO
    terms[m] = rng.choice([24, 36], size=m.sum())

    # principal (yuan ranges, log-uniform) and rates
    lo = np.array([5_000, 500, 2_000, 50_000])[product]
    hi = np.array([150_000, 8_000, 50_000, 300_000])[product]
    yuan = np.exp(rng.uniform(np.log(lo), np.log(hi)))
    principal = np.where(
        product == CARD,
        np.round(yuan * 100),  # a statement balance, to the cent
        np.round(yuan / 100) * 10_000,  # loans are granted in whole hundreds of yuan
    ).astype(np.int64)
    apr_lo = np.array([720, 1500, 1825, 400])[product]
    apr_hi = np.array([2400, 2400, 1826, 1200])[product]
    apr_bp = rng.integers(apr_lo, apr_hi).astype(np.int64)

    # origination
    step_days = np.where(period == 0, 30, period)
    default_no = np.minimum(terms, rng.integers(1, 7, size=n))  # rollers stop paying here
    if new:
        origination = np.full(n, originated_on, dtype=np.int32)
        default_no = rng.integers(1, terms + 1)
    else:
        # Mostly mid-life; a few just past their last installment (recently closed).
        span = np.minimum(terms * step_days + 5, MAX_AGE_DAYS)
        origination = (start - rng.integers(0, span + 1)).astype(np.int32)
        # Rollers are placed by how late they are on the first snapshot, half of them beyond
        # 180 days, so that every bucket is populated from day one; some default later.
        roller = behaviour == ROLLER
        k = int(roller.sum())
        target_dpd = np.where(
            rng.random(k) < 0.15,
            rng.integers(-60, 1, size=k),
            np.where(
                rng.random(k) < 0.5, rng.integers(1, 181, size=k), rng.integers(181, 901, size=k)
            ),
        )
        default_due = (start - target_dpd).astype(np.int32)
        j = default_no[roller]
        dom = np.minimum(day_of_month(default_due), 28)
        monthly = period[roller] == 0
        orig_r = np.where(
            monthly,
            add_months(default_due, -j, dom),
            default_due - j * period[roller],
        )
        late_start = orig_r > start
        orig_r = np.where(late_start, start - rng.integers(0, 31, size=k), orig_r)
        origination[roller] = np.maximum(orig_r, start - MAX_AGE_DAYS).astype(np.int32)

    # schedule
    counts = terms
    inst_start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=inst_start[1:])
    total = int(inst_start[-1])
    inst_loan = np.repeat(np.arange(n, dtype=np.int32), counts)
    inst_no = (np.arange(total, dtype=np.int64) - np.repeat(inst_start[:-1], counts) + 1).astype(
        np.int32
    )
    # Monthly products fall due on the origination day-of-month (at most the 28th).
    # Month starts come from a small table, so no calendar arithmetic runs per installment.
    y, mth, d = civil(origination)
    first_month = y * 12 + mth - 1
    lo_month = int(first_month.min())
    months = np.arange(lo_month, int(first_month.max()) + int(terms.max()) + 1)
    month_start = from_civil(months // 12, months % 12 + 1, np.ones_like(months)).astype(np.int32)
    due = month_start[(first_month - lo_month).astype(np.int32)[inst_loan] + inst_no]
    due += (np.minimum(d, 28) - 1).astype(np.int32)[inst_loan]
    weekly = (period != 0)[inst_loan]
    due[weekly] = origination[inst_loan[weekly]] + inst_no[weekly] * period[inst_loan[weekly]]
    period_i = period[inst_loan]

    # Equal principal per installment, the rounding remainder on the last one.
    terms_i = terms[inst_loan]
    p_i = principal[inst_loan]
    base = p_i // terms_i
    last = inst_no == terms_i
    principal_due = np.where(last, p_i - base * (terms_i - 1), base)
    balance_before = p_i - base * (inst_no - 1)
    apr_i = apr_bp[inst_loan]
    product_i = product[inst_loan]
    interest_due = np.where(
        period_i == 0,
        balance_before * apr_i // 120_000,  # monthly on the declining balance
        p_i * apr_i * period_i // 3_650_000,  # flat on the principal for weekly products
    )
    fee_due = np.zeros(total, dtype=np.int64)
    micro = product_i == MICRO
    fee_due[micro] = p_i[micro] * 30 // 10_000  # service fee, 0.3 % per installment
    card_first = (product_i == CARD) & (inst_no == 1)
    annual_fee = rng.choice([0, 10_000, 30_000], size=n, p=[0.6, 0.3, 0.1])  # per card
    fee_due[card_first] = annual_fee[inst_loan[card_first]]

    paid_on, share, settled_on = _payments(
        rng,
        due,
        inst_no,
        behaviour[inst_loan],
        default_no[inst_loan],
        start,
        origination,
        inst_loan,
    )

    settled = np.where(share >= 1000, paid_on, settled_on)
    closed_on = np.maximum.reduceat(settled, inst_start[:-1]).astype(np.int32)

    maturity = np.where(product == CARD, NEVER, due[inst_start[1:] - 1]).astype(np.int32)
    written_off_later = rng.random(n) < 0.3
    reports_dpd = rng.random(n) < 0.95

    customer_city, customers = _customers(rng, n_customers, start)

    return Book(
        loan_no=np.arange(1, n + 1, dtype=np.int64),
        customer=cust_of_loan,
        product=product,
        origination=origination,
        maturity=maturity,
        principal=principal,
        behaviour=behaviour,
        written_off_later=written_off_later,
        reports_dpd=reports_dpd,
        closed_on=closed_on,
        inst_start=inst_start,
        inst_loan=inst_loan,
        inst_no=inst_no,
        due=due,
        principal_due=principal_due.astype(np.int64),
        interest_due=interest_due.astype(np.int64),
        fee_due=fee_due,
        paid_on=paid_on,
        share=share,
        settled_on=settled_on,
        customer_no=np.arange(1, n_customers + 1, dtype=np.int64),
        customer_city=customer_city,
        customers=customers,
    )


def _payments(
    rng: np.random.Generator,
    due: np.ndarray,
    inst_no: np.ndarray,
    behaviour: np.ndarray,
    default_no: np.ndarray,
    start: int,
    origination: np.ndarray,
    inst_loan: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    total = len(due)
    due = due.astype(np.int32)
    u = rng.random(total, dtype=np.float32)
    # On time: most pay on the due date, some a few days early, a few slip 1-5 days and cure.
    r = rng.random(total, dtype=np.float32)
    early = np.where(r < 0.4, 1 + (r * 12.5).astype(np.int32), np.int32(0))  # 1-5 days, 40 %
    paid_on = due - early
    slip = np.nonzero(u < 0.03)[0]
    paid_on[slip] = due[slip] + rng.integers(1, 6, size=len(slip), dtype=np.int32)
    share = np.full(total, 1000, dtype=np.int32)
    settled_on = np.full(total, NEVER, dtype=np.int32)

    # Late but cures: about half the installments 1-75 days late (geometric, mean ~12).
    late = np.nonzero((behaviour == LATE_CURE) & (u < 0.55))[0]
    paid_on[late] = due[late] + np.minimum(rng.geometric(1 / 12, size=len(late)), 75)

    # Partial payer: part near the due date, the rest weeks later (rarely never).
    part = np.nonzero((behaviour == PARTIAL) & (u < 0.6))[0]
    k = len(part)
    share[part] = rng.integers(200, 800, size=k)
    paid_on[part] = due[part] + rng.integers(0, 11, size=k)
    settled_on[part] = np.where(
        rng.random(k) < 0.97, due[part] + rng.integers(15, 61, size=k), NEVER
    )

    # Roller: pays until the default installment, then nothing (some pay a little once).
    roller = np.nonzero(behaviour == ROLLER)[0]
    no, default = inst_no[roller], default_no[roller]
    paid_on[roller[no >= default]] = NEVER
    token = roller[(no == default) & (r[roller] < 0.3)]
    paid_on[token] = due[token] + rng.integers(3, 26, size=len(token))
    share[token] = rng.integers(100, 500, size=len(token))

    # Prepayment: everything due after the prepayment day is paid that day.
    prepay_day = (start + rng.integers(-25, 91, size=len(origination))).astype(np.int32)
    prepayer = np.nonzero(behaviour == PREPAY)[0]
    loan = inst_loan[prepayer]
    prepaid = prepayer[
        (prepay_day[loan] > origination[loan] + 30) & (due[prepayer] > prepay_day[loan])
    ]
    paid_on[prepaid] = prepay_day[inst_loan[prepaid]]

    # Nobody pays before the loan exists.
    np.maximum(paid_on, origination[inst_loan], out=paid_on)
    return paid_on, share, settled_on


def _customers(rng: np.random.Generator, n: int, start: int) -> tuple[np.ndarray, pl.DataFrame]:
    """Customer attributes (all but customer_id) and each customer's city index."""
    city_w = np.array(names.CITY_WEIGHTS, dtype=np.float64)
    city = rng.choice(len(names.CITIES), size=n, p=city_w / city_w.sum())
    sur_w = np.array([w for _, _, w in names.SURNAMES], dtype=np.float64)
    surname = rng.choice(len(names.SURNAMES), size=n, p=sur_w / sur_w.sum())
    g1 = rng.integers(0, len(names.GIVEN_CHARS), size=n)
    g2 = rng.integers(0, len(names.GIVEN_CHARS), size=n)
    two_chars = rng.random(n) < 0.7

    # 18-digit resident id: area code, birth date, sequence (odd = male), ISO 7064 check digit.
    area = np.array([int(c[3]) for c in names.CITIES], dtype=np.int64)[city]
    birth = start - rng.integers(20 * 365, 62 * 365, size=n)
    y, mo, d = ymd(birth)
    seq = rng.integers(1, 1000, size=n)
    body = area * 10**11 + (y * 10_000 + mo * 100 + d) * 1_000 + seq
    check = id_check_digits(body)

    prefix = np.array(names.MOBILE_PREFIXES, dtype=np.int64)[
        rng.integers(0, len(names.MOBILE_PREFIXES), size=n)
    ]
    mobile = prefix * 10**8 + rng.integers(0, 10**8, size=n)
    phone_form = rng.random(n)  # < 0.03 missing, < 0.13 E.164, else 11 digits

    has_email = rng.random(n) < 0.4
    qq = rng.random(n) < 0.4
    qq_no = rng.integers(10_000, 3_000_000_000, size=n)
    mail_no = rng.integers(1, 10_000, size=n)
    domain = rng.integers(0, len(names.EMAIL_DOMAINS), size=n)

    has_address = rng.random(n) >= 0.06
    street = rng.integers(0, len(names.STREETS), size=n)
    house = rng.integers(1, 1000, size=n)
    has_flat = rng.random(n) < 0.6
    building = rng.integers(1, 30, size=n)
    flat = rng.integers(1, 33, size=n) * 100 + rng.integers(1, 7, size=n)
    postal_tail = rng.integers(0, 100, size=n)

    tz_draw = rng.random(n)
    consent = rng.random((3, n))

    cities = pl.DataFrame(
        {
            "province": [c[0] for c in names.CITIES],
            "city": [c[1] for c in names.CITIES],
            "district": [c[2] for c in names.CITIES],
            "postal_head": [c[4][:4] for c in names.CITIES],
        }
    )
    surnames = pl.Series([s for s, _, _ in names.SURNAMES])
    pinyin = pl.Series([p for _, p, _ in names.SURNAMES])
    given = pl.Series(list(names.GIVEN_CHARS))
    streets = pl.Series(list(names.STREETS))
    domains = pl.Series(list(names.EMAIL_DOMAINS))
    place = cities[city]
    urumqi = (place["city"] == names.URUMQI).to_numpy()

    frame = pl.DataFrame(
        {
            "sur": surnames.gather(surname),
            "py": pinyin.gather(surname),
            "g1": given.gather(g1),
            "g2": given.gather(g2),
            "two": two_chars,
            "body": body,
            "check": pl.Series(check),
            "has_id": rng.random(n) >= 0.04,
            "mobile": mobile,
            "phone_form": phone_form,
            "has_email": has_email,
            "qq": qq,
            "qq_no": qq_no,
            "mail_no": mail_no,
            "domain": domains.gather(domain),
            "has_address": has_address,
            "street": streets.gather(street),
            "house": house,
            "has_flat": has_flat,
            "building": building,
            "flat": flat,
            "postal_tail": postal_tail,
            "tz_draw": tz_draw,
            "urumqi": urumqi,
            "c_sms": consent[0] >= 0.03,
            "c_call": consent[1] >= 0.02,
            "c_email": consent[2] >= 0.05,
        }
    ).hstack(place)

    col = pl.col
    mobile_s = col("mobile").cast(pl.String)
    customers = frame.select(
        full_name=col("sur")
        + col("g1")
        + pl.when(col("two")).then(col("g2")).otherwise(pl.lit("")),
        national_id=pl.when(col("has_id")).then(col("body").cast(pl.String) + col("check")),
        phone=pl.when(col("phone_form") < 0.03)
        .then(None)
        .when(col("phone_form") < 0.13)
        .then(pl.lit("+86") + mobile_s)
        .otherwise(mobile_s),
        email=pl.when(~col("has_email"))
        .then(None)
        .when(col("qq"))
        .then(col("qq_no").cast(pl.String) + pl.lit("@qq.com"))
        .otherwise(col("py") + col("mail_no").cast(pl.String) + pl.lit("@") + col("domain")),
        address=pl.when(col("has_address")).then(
            col("district")
            + col("street")
            + col("house").cast(pl.String)
            + pl.lit("号")
            + pl.when(col("has_flat"))
            .then(
                col("building").cast(pl.String)
                + pl.lit("栋")
                + col("flat").cast(pl.String)
                + pl.lit("室")
            )
            .otherwise(pl.lit(""))
        ),
        city=col("city"),
        province=col("province"),
        postal_code=pl.when(col("has_address")).then(
            col("postal_head") + col("postal_tail").cast(pl.String).str.zfill(2)
        ),
        timezone=pl.when(col("urumqi") & (col("tz_draw") < 0.6))
        .then(pl.lit("Asia/Urumqi"))
        .when(col("tz_draw") < 0.01)
        .then(pl.lit("Asia/Shanghai")),
        language=pl.lit("zh"),
        consent_sms=col("c_sms"),
        consent_call=col("c_call"),
        consent_email=col("c_email"),
    )
    return city.astype(np.int64), customers.with_columns(*_coordinates(rng, city, customers))


def _coordinates(
    rng: np.random.Generator, city: np.ndarray, customers: pl.DataFrame
) -> list[pl.Series]:
    """latitude and longitude (text, 6 decimals) around the customer's city, for customers
    with an address. Drawn from a child generator: the book's other draws stay as they were."""
    child = rng.spawn(1)[0]
    centre = np.array(names.CITY_CENTRES, dtype=np.float64)[city]
    offset = child.normal(0.0, 0.05, size=(len(city), 2))
    has_address = customers["address"].is_not_null().to_numpy()
    out = []
    for name, values in (
        ("latitude", centre[:, 0] + offset[:, 0]),
        ("longitude", centre[:, 1] + offset[:, 1]),
    ):
        text = [f"{v:.6f}" if ok else None for v, ok in zip(values, has_address, strict=True)]
        out.append(pl.Series(name, text, dtype=pl.String))
    return out


_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.array(list("10X98765432"))


def id_check_digits(body: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 11-2 check character of 17-digit id bodies (as integers)."""
    total = np.zeros(len(body), dtype=np.int64)
    rest = body.copy()
    for pos in range(16, -1, -1):  # over the 17 digit positions, right to left
        total += (rest % 10) * _ID_WEIGHTS[pos]
        rest //= 10
    return _ID_CHECK[total % 11]


def concat_books(parts: list[Book]) -> Book:
    """One book from blocks; loans and customers are numbered in block order."""
    if len(parts) == 1:
        return parts[0]
    n_customers = sum(len(p.customer_no) for p in parts)
    offsets = np.cumsum([0] + [p.loans for p in parts[:-1]])
    inst_offsets = np.cumsum([0] + [int(p.inst_start[-1]) for p in parts[:-1]])
    cust_offsets = np.cumsum([0] + [len(p.customer_no) for p in parts[:-1]])

    def cat(attr: str) -> np.ndarray:
        return np.concatenate([getattr(p, attr) for p in parts])

    return Book(
        loan_no=np.arange(1, sum(p.loans for p in parts) + 1, dtype=np.int64),
        customer=np.concatenate([p.customer + c for p, c in zip(parts, cust_offsets, strict=True)]),
        product=cat("product"),
        origination=cat("origination"),
        maturity=cat("maturity"),
        principal=cat("principal"),
        behaviour=cat("behaviour"),
        written_off_later=cat("written_off_later"),
        reports_dpd=cat("reports_dpd"),
        closed_on=cat("closed_on"),
        inst_start=np.concatenate(
            [parts[0].inst_start[:1]]
            + [p.inst_start[1:] + o for p, o in zip(parts, inst_offsets, strict=True)]
        ),
        inst_loan=np.concatenate(
            [p.inst_loan + np.int32(o) for p, o in zip(parts, offsets, strict=True)]
        ),
        inst_no=cat("inst_no"),
        due=cat("due"),
        principal_due=cat("principal_due"),
        interest_due=cat("interest_due"),
        fee_due=cat("fee_due"),
        paid_on=cat("paid_on"),
        share=cat("share"),
        settled_on=cat("settled_on"),
        customer_no=np.arange(1, n_customers + 1, dtype=np.int64),
        customer_city=cat("customer_city"),
        customers=pl.concat([p.customers for p in parts]),
    )
