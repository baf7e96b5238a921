"""Thresholds of the quality checks: defaults that suit a consumer-lending book.

Kept apart from Settings so the checks can be tuned (and tested) without touching the run's
configuration; validate_landed takes one (or the defaults).
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class QualityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # An installment's total paid may exceed its total due by this much (rounding, small fees).
    paid_tolerance_amount: Decimal = Field(default=Decimal("1.00"), ge=0, decimal_places=2)
    # Unpaid above this makes an installment overdue (docs/CONTRACT.md section 3).
    overdue_tolerance_amount: Decimal = Field(default=Decimal("1.00"), ge=0, decimal_places=2)
    # Loan count against the previous snapshot: warn above the first share, reject above the second.
    loan_count_warning_share: float = Field(default=0.10, ge=0)
    loan_count_critical_share: float = Field(default=0.50, ge=0)
    # Loans that vanished without being CLOSED: warn on any, reject above this share of the
    # previous snapshot's open loans.
    vanished_critical_share: float = Field(default=0.05, ge=0, le=1)
    # source_dpd that disagrees with the dpd recomputed from the schedule: warn above this share.
    source_dpd_mismatch_share: float = Field(default=0.05, ge=0, le=1)
    # Revolving products, whose outstanding principal may legitimately grow.
    revolving_products: tuple[str, ...] = ("credit_card",)
    # Products the book is known to hold; others are warned about, not rejected.
    known_products: tuple[str, ...] = (
        "credit_card",
        "consumer_loan",
        "microloan",
        "auto_loan",
        "mortgage",
    )
