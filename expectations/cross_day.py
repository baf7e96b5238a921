"""cross_day.critical / cross_day.warning: the landed loans against the previous snapshot.

These compare two snapshots (work.loans at D with raw.loans at the latest earlier date P), which
a GX batch cannot express, so they are plain DuckDB queries with bound parameters. Each returns
`(failing, base, examples)`: the offending loans, what they are counted against, and example
loan_ids; the runner records them in quality.runs like the GX suites.

What is compared for dpd: aging has not run at validation time, so the dpd jump compares the
source system's source_dpd at D and P, and the disagreement share compares source_dpd with the
dpd recomputed from the landed schedule by the contract's rule (oldest installment with
`due_date < D` and unpaid above the tolerance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PREVIOUS_SNAPSHOT = "select max(snapshot_date) from raw.loans where snapshot_date < $snapshot_date"

LOAN_COUNTS = """
select
    (select count(*) from work.loans where snapshot_date = $snapshot_date) as failing,
    (select count(*) from raw.loans where snapshot_date = $previous_date) as base,
    []::varchar[] as examples
"""

VANISHED = """
with previous as (
    select loan_id from raw.loans
    where snapshot_date = $previous_date and status <> 'CLOSED'
),
current as (
    select loan_id from work.loans where snapshot_date = $snapshot_date
),
vanished as (
    select previous.loan_id from previous
    anti join current on current.loan_id = previous.loan_id
)
select
    (select count(*) from vanished) as failing,
    (select count(*) from previous) as base,
    (select coalesce(list(loan_id order by loan_id)[1:5], []) from vanished) as examples
"""

OUTSTANDING_GREW = """
with grew as (
    select current.loan_id
    from work.loans as current
    inner join raw.loans as previous
        on previous.loan_id = current.loan_id and previous.snapshot_date = $previous_date
    where current.snapshot_date = $snapshot_date
        and not list_contains($revolving_products, current.product)
        and current.outstanding_principal > previous.outstanding_principal
)
select
    (select count(*) from grew) as failing,
    (select count(*) from work.loans where snapshot_date = $snapshot_date) as base,
    (select coalesce(list(loan_id order by loan_id)[1:5], []) from grew) as examples
"""

DPD_JUMP = """
with jumped as (
    select current.loan_id
    from work.loans as current
    inner join raw.loans as previous
        on previous.loan_id = current.loan_id and previous.snapshot_date = $previous_date
    where current.snapshot_date = $snapshot_date
        and current.source_dpd - previous.source_dpd
            > date_diff('day', $previous_date, $snapshot_date)
)
select
    (select count(*) from jumped) as failing,
    (select count(*) from work.loans where snapshot_date = $snapshot_date) as base,
    (select coalesce(list(loan_id order by loan_id)[1:5], []) from jumped) as examples
"""

SOURCE_DPD_MISMATCH = """
with overdue as (
    select loan_id, min(due_date) as oldest_due_date
    from work.installments
    where snapshot_date = $snapshot_date
        and due_date < $snapshot_date
        and principal_due + interest_due + fee_due + penalty_due
            - (principal_paid + interest_paid + fee_paid + penalty_paid) > $overdue_tolerance
    group by loan_id
),
compared as (
    select
        loans.loan_id,
        loans.source_dpd,
        coalesce(date_diff('day', overdue.oldest_due_date, $snapshot_date), 0) as dpd
    from work.loans as loans
    left join overdue on overdue.loan_id = loans.loan_id
    where loans.snapshot_date = $snapshot_date
        and loans.source_dpd is not null
        and loans.status not in ('CLOSED', 'WRITTEN_OFF')
),
mismatched as (
    select loan_id from compared where source_dpd <> dpd
)
select
    (select count(*) from mismatched) as failing,
    (select count(*) from compared) as base,
    (select coalesce(list(loan_id order by loan_id)[1:5], []) from mismatched) as examples
"""

Severity = Literal["critical", "warning"]


@dataclass(frozen=True)
class CrossDayCheck:
    rule: str
    query: str
    # Fails when failing / base exceeds the share (loan count: |now - before| / before).
    share_setting: str | None
    severity: Severity
    # True for LOAN_COUNTS: `failing` is then the current count, compared with `base`.
    count_change: bool = False


def checks() -> tuple[CrossDayCheck, ...]:
    return (
        CrossDayCheck(
            "loan count moved beyond the critical share",
            LOAN_COUNTS,
            "loan_count_critical_share",
            "critical",
            count_change=True,
        ),
        CrossDayCheck(
            "loans vanished without being CLOSED beyond the critical share",
            VANISHED,
            "vanished_critical_share",
            "critical",
        ),
        CrossDayCheck(
            "loan count moved beyond the warning share",
            LOAN_COUNTS,
            "loan_count_warning_share",
            "warning",
            count_change=True,
        ),
        CrossDayCheck("loans vanished without being CLOSED", VANISHED, None, "warning"),
        CrossDayCheck(
            "outstanding principal of an installment loan grew", OUTSTANDING_GREW, None, "warning"
        ),
        CrossDayCheck("source_dpd grew more than the days elapsed", DPD_JUMP, None, "warning"),
        CrossDayCheck(
            "source_dpd disagrees with the schedule beyond the share",
            SOURCE_DPD_MISMATCH,
            "source_dpd_mismatch_share",
            "warning",
        ),
    )
