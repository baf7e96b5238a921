"""Convert the UCI file, age its six month ends and print the roll-rate tables of docs/real-data.md.

.venv/bin/python -m arrears.realdata [CSV]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from arrears import warehouse
from arrears.aging import load_aging_config
from arrears.realdata.load import age_landing
from arrears.realdata.uci import convert_uci

# The repository's copy of the file (gzip-compressed; polars reads it as is). A checkout has it,
# an installed wheel does not: there the path is given on the command line.
DEFAULT_CSV = (
    Path(__file__).resolve().parents[2]
    / "tests"
    / "fixtures"
    / "uci_taiwan_credit_card"
    / "UCI_Credit_Card.csv.gz"
)

POOLED = """
select
    from_bucket,
    to_bucket,
    sum(loans) as loans,
    sum(balance) as balance,
from marts.roll_rates
where period = 'MONTH'
group by from_bucket, to_bucket
order by from_bucket, to_bucket
"""

MONTHLY = """
select
    snapshot_date,
    sum(loans) filter (where from_bucket = 'M0') as current_loans,
    sum(loans) filter (where from_bucket = 'M0' and to_bucket <> 'M0') as rolled_loans,
    sum(loans) filter (where from_bucket <> 'M0') as delinquent_loans,
    sum(loans) filter (where from_bucket <> 'M0' and to_bucket = 'M0') as cured_loans,
from marts.roll_rates
where period = 'MONTH'
group by snapshot_date
order by snapshot_date
"""


def main() -> None:
    csv_path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CSV
    if not csv_path.is_file():
        sys.exit(f"the UCI file is not at {csv_path}; usage: python -m arrears.realdata [CSV]")
    with tempfile.TemporaryDirectory() as tmp:
        dates = convert_uci(csv_path, Path(tmp))
        con = warehouse.connect(":memory:")
        age_landing(con, Path(tmp), dates, load_aging_config())
        pooled = con.execute(POOLED).fetchall()
        monthly = con.execute(MONTHLY).fetchall()
        con.close()

    buckets = sorted({row[0] for row in pooled} | {row[1] for row in pooled})
    counts = {(f, t): n for f, t, n, _ in pooled}
    totals = {b: sum(n for (f, _), n in counts.items() if f == b) for b in buckets}
    print("Loans, summed over the five month-to-month transitions (row: from, column: to):\n")
    print("| from \\ to | " + " | ".join(buckets) + " | total |")
    print("|---|" + "---:|" * (len(buckets) + 1))
    for f in buckets:
        if not totals[f]:
            continue
        cells = [f"{counts.get((f, t), 0):,}" if counts.get((f, t)) else "" for t in buckets]
        print(f"| {f} | " + " | ".join(cells) + f" | {totals[f]:,} |")
    print("\nShares of the from bucket (loan_share):\n")
    print("| from \\ to | " + " | ".join(buckets) + " |")
    print("|---|" + "---:|" * len(buckets))
    for f in buckets:
        if not totals[f]:
            continue
        cells = [f"{counts[(f, t)] / totals[f]:.1%}" if counts.get((f, t)) else "" for t in buckets]
        print(f"| {f} | " + " | ".join(cells) + " |")
    print("\nPer month end (period MONTH):\n")
    print("| month end | M0 loans | M0 -> M1+ | roll rate | delinquent loans | cured | cure rate |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for day, current, rolled, delinquent, cured in monthly:
        print(
            f"| {day} | {current:,} | {rolled:,} | {rolled / current:.2%} | {delinquent:,} "
            f"| {cured:,} | {cured / delinquent:.2%} |"
        )


if __name__ == "__main__":
    main()
