"""validate_landed on a 1M-loan (12M-installment) snapshot vs the same checks as plain DuckDB SQL.

    .venv/bin/python bench/bench_quality.py [--loans 1000000] [--warehouse PATH]

Builds the snapshot with range() in a DuckDB file, times validate_landed (GX, SQL pushed down,
after one warm-up on a tiny table so GX's import is not counted), then the same checks written
as one hand-made aggregate query per dataset, and prints both times and their ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from arrears import warehouse
from arrears.contract import DATASETS
from arrears.quality import QualityConfig, validate_landed
from arrears.settings import Settings
from expectations import cross_day
from expectations.reference import CURRENCY_REGEX, ISO_4217, PHONE_REGEX

D = date(2025, 6, 30)

BUILD = (
    """
    insert into work.customers (snapshot_date, customer_id, full_name, phone, timezone,
        consent_sms, consent_call, consent_email)
    select $d, 'C' || range, 'name', '138' || lpad(cast(range % 100000000 as varchar), 8, '0'),
        'Asia/Shanghai', true, true, true
    from range($customers)
    """,
    """
    insert into work.loans
    select $d, 'L' || range, 'C' || (range % $customers), 'consumer_loan', 'B' || (range % 50),
        'CNY', date '2024-06-01', date '2025-06-01', 12000.00, 6000.00, 'ACTIVE', 0
    from range($loans)
    """,
    """
    insert into work.installments
    select $d, 'L' || l.range, i.range + 1, date '2024-07-01' + to_months(i.range::integer),
        1000.00, 50.00, 0.00, 0.00,
        case when i.range < 6 then 1000.00 else 0.00 end,
        case when i.range < 6 then 50.00 else 0.00 end,
        0.00, 0.00,
        case when i.range < 6 then date '2024-07-01' + to_months(i.range::integer) end
    from range($loans) as l, range(12) as i
    """,
)

# The checks validate_landed runs, one aggregate per table (and join), with the sets, bounds
# and regexes bound from the suites' own constants: the whole ISO 4217 list, the known
# products, DuckDB's own time-zone names, all eleven required installment columns, foreign
# keys matched on the snapshot date, and the one cross-day check a first snapshot runs (the
# same SQL).
PLAIN = {
    "loans": """
        select
            count(*) filter (where loan_id is null or customer_id is null or product is null
                or branch is null or currency is null or origination_date is null
                or principal_amount is null or outstanding_principal is null or status is null),
            count(*) - count(distinct loan_id),
            count(*) filter (where principal_amount <= 0 or outstanding_principal < 0
                or source_dpd < 0),
            count(*) filter (where not list_contains($statuses, status)),
            count(*) filter (where not regexp_matches(currency, $currency_regex)),
            count(*) filter (where origination_date > snapshot_date
                or maturity_date < origination_date),
            count(*) filter (where currency not in (select unnest($currencies))),
            count(*) filter (where not list_contains($products, product)),
            count(*) filter (where status = 'CLOSED' and outstanding_principal > 0
                or outstanding_principal > principal_amount)
        from work.loans where snapshot_date = $d
    """,
    "loans_fk": """
        select count(*) from work.loans l anti join work.customers c
            on c.customer_id = l.customer_id and c.snapshot_date = l.snapshot_date
        where l.snapshot_date = $d and l.customer_id is not null
    """,
    "installments": """
        select
            count(*) filter (where loan_id is null or installment_no is null or due_date is null
                or principal_due is null or interest_due is null or fee_due is null
                or penalty_due is null or principal_paid is null or interest_paid is null
                or fee_paid is null or penalty_paid is null),
            count(*) - count(distinct (loan_id, installment_no)),
            count(*) filter (where installment_no < 1 or principal_due < 0 or interest_due < 0
                or fee_due < 0 or penalty_due < 0 or principal_paid < 0 or interest_paid < 0
                or fee_paid < 0 or penalty_paid < 0),
            count(*) filter (where principal_paid + interest_paid + fee_paid + penalty_paid
                > principal_due + interest_due + fee_due + penalty_due + $paid_tolerance),
            count(*) filter (where last_payment_date > snapshot_date),
            count(*) filter (where last_payment_date is null
                and principal_paid + interest_paid + fee_paid + penalty_paid > 0)
        from work.installments where snapshot_date = $d
    """,
    "installments_loans": """
        select
            count(*) filter (where i.loan_id is not null and l.loan_id is null),
            count(*) filter (where i.due_date < l.origination_date),
            count(*) filter (where i.due_date > l.maturity_date)
        from work.installments i left join work.loans l
            on l.loan_id = i.loan_id and l.snapshot_date = i.snapshot_date
        where i.snapshot_date = $d
    """,
    "customers": """
        select
            count(*) filter (where customer_id is null or full_name is null),
            count(*) - count(distinct customer_id),
            count(*) filter (where not regexp_matches(phone, $phone_regex)),
            count(*) filter (where timezone not in (select name from pg_timezone_names())),
            count(*) filter (where phone is null and email is null and address is null)
        from work.customers where snapshot_date = $d
    """,
    "cross_day": cross_day.SOURCE_DPD_MISMATCH.replace("$snapshot_date", "$d"),
}


def plain_params() -> dict[str, Any]:
    config = QualityConfig()
    return {
        "d": D,
        "statuses": list(DATASETS["loans"].column("status").enum or ()),
        "currencies": list(ISO_4217),
        "currency_regex": CURRENCY_REGEX,
        "phone_regex": PHONE_REGEX,
        "products": list(config.known_products),
        "paid_tolerance": config.paid_tolerance_amount,
        "overdue_tolerance": config.overdue_tolerance_amount,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--warehouse", type=Path)
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    path = args.warehouse or Path(folder.name) / "bench.duckdb"
    con = warehouse.connect(path)
    params = {"d": D, "loans": args.loans, "customers": max(args.loans // 2, 1)}

    started = time.perf_counter()
    for dataset in (
        "customers",
        "loans",
        "installments",
        "arrangements",
        "contact_events",
        "holds",
    ):
        con.execute(warehouse.work_table_ddl(dataset))
    for statement in BUILD:
        con.execute(statement, {k: v for k, v in params.items() if f"${k}" in statement})
    con.execute("checkpoint")
    rows = {d: warehouse.count(con, f"work.{d}") for d in ("customers", "loans", "installments")}
    print(f"built {rows} in {time.perf_counter() - started:.1f} s")

    # Warm-up: GX import and first-use costs are paid once per process, not per snapshot.
    tiny = warehouse.connect(":memory:")
    for dataset in ("customers", "loans", "installments"):
        tiny.execute(warehouse.work_table_ddl(dataset))
    for statement in BUILD:
        small = {"d": D, "loans": 2, "customers": 1}
        tiny.execute(statement, {k: v for k, v in small.items() if f"${k}" in statement})
    validate_landed(tiny, D, "warm-up", Settings())
    tiny.close()

    started = time.perf_counter()
    report = validate_landed(con, D, "bench", Settings())
    gx_seconds = time.perf_counter() - started

    plain = plain_params()
    started = time.perf_counter()
    for sql in PLAIN.values():
        con.execute(sql, {k: v for k, v in plain.items() if f"${k}" in sql}).fetchall()
    sql_seconds = time.perf_counter() - started

    print(
        f"validate_landed (GX on DuckDB): {gx_seconds:.2f} s "
        f"({sum(s.evaluated for s in report.suites)} checks, success={report.success})"
    )
    for suite in report.suites:
        print(f"    {suite.suite:28} {suite.duration_seconds:6.2f} s")
    print(f"same checks as plain DuckDB SQL: {sql_seconds:.2f} s")
    print(f"ratio: {gx_seconds / sql_seconds:.2f}x (target <= 2x)")
    con.close()
    folder.cleanup()


if __name__ == "__main__":
    main()
