"""installments.critical / installments.warning: the repayment schedules with what is paid."""

from __future__ import annotations

from typing import Any

from arrears.quality.config import QualityConfig
from expectations import _build as b

DATASET = "installments"
AMOUNTS = (
    "principal_due",
    "interest_due",
    "fee_due",
    "penalty_due",
    "principal_paid",
    "interest_paid",
    "fee_paid",
    "penalty_paid",
)


def critical(config: QualityConfig) -> Any:
    import great_expectations as gx

    x = gx.expectations
    # A validated Decimal, rendered as a typed literal: GX row queries take no bound parameters.
    tolerance = f"cast('{config.paid_tolerance_amount}' as decimal(18,2))"
    return b.suite(
        f"{DATASET}.critical",
        [
            *b.not_null(DATASET, "loan_id", "installment_no", "due_date", *AMOUNTS),
            b.unique_key(DATASET),
            b.references(DATASET, "loan_id", "loans", "loan_id"),
            x.ExpectColumnValuesToBeBetween(
                column="installment_no",
                min_value=1,
                meta=b.meta("installment_no below 1", "installment_no"),
            ),
            *b.non_negative(DATASET, *AMOUNTS),
            x.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select *, principal_paid + interest_paid + fee_paid + penalty_paid "
                    "- (principal_due + interest_due + fee_due + penalty_due) as overpaid_amount "
                    "from {batch} where principal_paid + interest_paid + fee_paid + penalty_paid "
                    "> principal_due + interest_due + fee_due + penalty_due + " + tolerance
                ),
                meta=b.meta("paid above due beyond tolerance", "overpaid_amount"),
            ),
            x.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select * from {batch} where last_payment_date > snapshot_date"
                ),
                meta=b.meta("last_payment_date after snapshot date", "last_payment_date"),
            ),
            x.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select b.* from {batch} b join work.loans l on l.loan_id = b.loan_id "
                    "and l.snapshot_date = b.snapshot_date where b.due_date < l.origination_date"
                ),
                meta=b.meta("due_date before the loan's origination_date", "due_date"),
            ),
        ],
    )


def warning(config: QualityConfig) -> Any:
    import great_expectations as gx

    x = gx.expectations
    return b.suite(
        f"{DATASET}.warning",
        [
            x.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select b.* from {batch} b join work.loans l on l.loan_id = b.loan_id "
                    "and l.snapshot_date = b.snapshot_date "
                    "where b.due_date > l.maturity_date"
                ),
                meta=b.meta("due_date after the loan's maturity_date", "due_date"),
            ),
            x.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select * from {batch} where last_payment_date is null "
                    "and principal_paid + interest_paid + fee_paid + penalty_paid > 0"
                ),
                meta=b.meta("paid without a last_payment_date"),
            ),
            *b.no_personal_patterns(DATASET),
        ],
    )
