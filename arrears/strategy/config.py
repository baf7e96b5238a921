"""The collection strategy as configuration: model, loader and validation (CONTRACT section 4).

A strategy file is YAML that a collections manager reads and edits. It is validated in full when
loaded: an unknown stage, channel or field, or an impossible range, raises ConfigError with a
message that names the file and the place, e.g. `strategy.yaml: stages.VISIT.dpd: 90-61 is empty`.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from arrears.config import DpdRange, read_mapping, validated
from arrears.contract import CHANNELS, HOLD_KINDS, LOAN_STATUSES
from arrears.errors import ConfigError

# Top-down order of the contract's stage table; a file keeps this order (stages may be left out).
STAGES: tuple[str, ...] = ("LEGAL", "RECOVERY", "VISIT", "LETTER", "CALL", "REMINDER", "PRE_DUE")
PROFILES: tuple[str, ...] = ("cn", "us")
CHAMPION = "champion"

_WINDOW = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)\s*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelRule(_Model):
    """How often a stage uses a channel, and with which message template."""

    every_days: int | None = Field(default=None, ge=1)
    once_per: Literal["episode", "installment"] | None = None
    template: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_cadence(self) -> ChannelRule:
        if (self.every_days is None) == (self.once_per is None):
            raise ValueError("give exactly one of every_days or once_per")
        return self


class PriorAction(_Model):
    """A stage that requires an earlier published action of the customer's current episode."""

    channel: str
    min_days_before: int = Field(ge=0)

    @field_validator("channel")
    @classmethod
    def _known_channel(cls, value: str) -> str:
        return _channel(value)


class StageRule(_Model):
    """When a loan is in the stage, and what the stage does to the customer."""

    dpd: DpdRange
    # A loan with one of these statuses also meets the dpd condition (RECOVERY: CHARGED_OFF).
    or_status: tuple[str, ...] = ()
    customer_outstanding_min: Decimal | None = Field(default=None, ge=0, decimal_places=2)
    customer_overdue_min: Decimal | None = Field(default=None, ge=0, decimal_places=2)
    # the customer's latest bureau score is at most this (a customer without a report: no match)
    bureau_score_max: int | None = Field(default=None, ge=0)
    requires_prior: PriorAction | None = None
    # An installment with an unpaid amount falls due on snapshot date + due_in_days.
    due_in_days: int | None = Field(default=None, ge=1, le=60)
    # With risk.model: the stage holds only for loans whose propensity not to roll forward
    # (1 - the model's probability) is at most this; likelier self-cures fall to the next stage.
    propensity_max: Decimal | None = Field(default=None, ge=0, le=1, decimal_places=4)
    channels: dict[str, ChannelRule]

    @field_validator("dpd", mode="before")
    @classmethod
    def _parse_dpd(cls, value: object) -> object:
        return value if isinstance(value, DpdRange | dict) else DpdRange.parse(value)

    @field_validator("or_status")
    @classmethod
    def _known_statuses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for status in value:
            if status not in LOAN_STATUSES:
                raise ValueError(
                    f"unknown loan status {status!r} (known: {', '.join(LOAN_STATUSES)})"
                )
        return value

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: dict[str, ChannelRule]) -> dict[str, ChannelRule]:
        for channel in value:
            _channel(channel)
        if not value:
            raise ValueError("a stage needs at least one channel")
        return value

    @model_validator(mode="after")
    def _installment_cadence_needs_due_date(self) -> StageRule:
        for channel, rule in self.channels.items():
            if rule.once_per == "installment" and self.due_in_days is None:
                raise ValueError(
                    f"channels.{channel}: once_per installment needs due_in_days on the stage"
                )
        return self


class HoldRule(_Model):
    """The channels still allowed while a hold of this kind is active (empty: no action at all)."""

    allow_channels: tuple[str, ...] = ()

    @field_validator("allow_channels")
    @classmethod
    def _known_channels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_channel(c) for c in value)


class ArrangementRule(_Model):
    """The reminder sent while an arrangement is ACTIVE (the only contact it allows)."""

    reminder_days_before: int = Field(default=1, ge=1, le=30)
    reminder_template: str = Field(min_length=1)


class OutcomeRules(_Model):
    """What contact outcomes change from the next night on (CONTRACT section 9); 0 days turns
    a rule off. WRONG_PARTY, FAILED letters and NOT_FOUND visits have no setting: a phone or
    address reported bad is not used while it stays the customer's (docs/strategy.md)."""

    # A DISPUTE outcome: a DISPUTE hold through the day it occurred + dispute_days.
    dispute_days: int = Field(default=30, ge=0, le=3660)
    # A PROMISE outcome: no escalation through the day it occurred + promise_grace_days,
    # until the arrangement it announces is in the arrangements dataset.
    promise_grace_days: int = Field(default=3, ge=0, le=366)


class Window(_Model):
    start: str
    end: str

    @classmethod
    def parse(cls, text: object) -> Window:
        if not isinstance(text, str) or not (m := _WINDOW.match(text)):
            raise ValueError(f"{text!r} is not a window (write 08:00-22:00)")
        start, end = f"{m.group(1)}:{m.group(2)}", f"{m.group(3)}:{m.group(4)}"
        if end > "24:00":
            raise ValueError(f"{text.strip()}: {end} is not a time of day")
        if end <= start:
            raise ValueError(f"{text.strip()} is empty")
        return cls(start=start, end=end)

    def end_time(self) -> str:
        # 24:00 is the end of the day: the window closes at midnight.
        return "23:59:59.999999" if self.end == "24:00" else self.end


class Profile(_Model):
    """A compliance profile: when and how often a borrower may be contacted."""

    window: Window
    # cn: attempts per number per day (-> CALL max_attempts) and connected calls per day.
    call_attempts_per_day: int | None = Field(default=None, ge=1)
    call_connected_per_day: int | None = Field(default=None, ge=1)
    # us (12 CFR 1006.14): attempts per loan in any `call_attempt_period_days` consecutive days.
    call_attempts_per_loan: int | None = Field(default=None, ge=1)
    call_attempt_period_days: int | None = Field(default=None, ge=1)
    # us: no call in this many days after a CONNECTED call (the day of the call is day 1).
    call_quiet_days_after_connected: int | None = Field(default=None, ge=1)

    @field_validator("window", mode="before")
    @classmethod
    def _parse_window(cls, value: object) -> object:
        return value if isinstance(value, Window | dict) else Window.parse(value)

    @model_validator(mode="after")
    def _pairs(self) -> Profile:
        if (self.call_attempts_per_loan is None) != (self.call_attempt_period_days is None):
            raise ValueError(
                "give both call_attempts_per_loan and call_attempt_period_days, or neither"
            )
        return self


class RiskWeights(_Model):
    """Weights of the risk score's components (each component is scaled to 0..1 first)."""

    dpd: Decimal = Field(ge=0)
    months_delinquent: Decimal = Field(ge=0)
    broken_promises: Decimal = Field(ge=0)
    days_since_payment: Decimal = Field(ge=0)
    balance: Decimal = Field(ge=0)
    # the latest credit-bureau report (docs/strategy.md "Bureau"); 0 until a lender sets it
    bureau: Decimal = Field(default=Decimal(0), ge=0)


class RiskCaps(_Model):
    """Where each component reaches 1 (values above count as the cap)."""

    dpd: int = Field(ge=1)
    broken_promises: int = Field(ge=1)
    days_since_payment: int = Field(ge=1)
    balance: Decimal = Field(gt=0)
    # the bureau component: a score at or above bureau_score adds nothing to it; as many
    # overdue accounts elsewhere as external_overdue_accounts add their full half
    bureau_score: int = Field(default=1000, ge=1)
    external_overdue_accounts: int = Field(default=3, ge=1)


class Risk(_Model):
    weights: RiskWeights
    caps: RiskCaps
    # A saved roll-forward model (models/<version>/, arrears train): priority then follows its
    # probability (risk_score = 100 * probability) instead of the weights. None: the weights.
    model: str | None = Field(default=None, min_length=1, pattern=r"^[A-Za-z0-9._-]+$")

    @model_validator(mode="after")
    def _fits(self) -> Risk:
        total = sum(self.weights.model_dump().values(), Decimal(0))
        if total > 10000:
            # risk_score is DECIMAL(9,4) in the marts
            raise ValueError(f"weights add up to {total}; at most 10000")
        return self


class Variant(_Model):
    """A challenger: a share of customers and the stage settings it changes."""

    share: Decimal = Field(ge=0, le=1)
    stages: dict[str, Any] = Field(default_factory=dict)


class ChampionChallenger(_Model):
    salt: str = Field(min_length=1)
    variants: dict[str, Variant] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _shares(self) -> ChampionChallenger:
        total = sum((v.share for v in self.variants.values()), Decimal(0))
        if total > 1:
            raise ValueError(f"variant shares add up to {total}, more than 1")
        if CHAMPION in self.variants:
            raise ValueError(f"{CHAMPION!r} is the name of the base strategy, not a variant")
        return self


class Strategy(_Model):
    """A validated strategy with one compliance profile selected."""

    version: str = Field(min_length=1)
    stages: dict[str, StageRule]
    holds: dict[str, HoldRule]
    arrangements: ArrangementRule
    outcomes: OutcomeRules = Field(default_factory=OutcomeRules)
    profiles: dict[str, Profile]
    capacity: dict[str, int] = Field(default_factory=dict)
    risk: Risk
    champion_challenger: ChampionChallenger
    # What one action costs on each channel (arrears simulate's contact cost); none: 0.
    costs: dict[str, Decimal] = Field(default_factory=dict)
    # Filled by load_strategy: the profile in force, and each variant's full stage table.
    profile: str = "cn"
    variant_stages: dict[str, dict[str, StageRule]] = Field(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int | float | Decimal) else value

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, value: dict[str, StageRule]) -> dict[str, StageRule]:
        return _check_stage_order(value)

    @field_validator("holds")
    @classmethod
    def _known_holds(cls, value: dict[str, HoldRule]) -> dict[str, HoldRule]:
        for kind in value:
            if kind not in HOLD_KINDS:
                raise ValueError(f"unknown hold kind {kind!r} (known: {', '.join(HOLD_KINDS)})")
        missing = [k for k in HOLD_KINDS if k not in value]
        if missing:
            raise ValueError(f"every hold kind needs a rule; missing: {', '.join(missing)}")
        return value

    @field_validator("profiles")
    @classmethod
    def _known_profiles(cls, value: dict[str, Profile]) -> dict[str, Profile]:
        for name in value:
            if name not in PROFILES:
                raise ValueError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})")
        return value

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, value: dict[str, int]) -> dict[str, int]:
        for channel, limit in value.items():
            _channel(channel)
            if limit < 0:
                raise ValueError(f"{channel}: capacity {limit} is negative")
        return value

    @field_validator("costs")
    @classmethod
    def _costs(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for channel, cost in value.items():
            _channel(channel)
            if cost < 0 or cost.as_tuple().exponent < -4:  # type: ignore[operator]
                raise ValueError(f"{channel}: cost {cost} must be >= 0 with at most 4 decimals")
        return value

    @property
    def active_profile(self) -> Profile:
        return self.profiles[self.profile]

    @property
    def variants(self) -> list[str]:
        return [CHAMPION, *self.champion_challenger.variants]

    def stages_for(self, variant: str) -> dict[str, StageRule]:
        return self.stages if variant == CHAMPION else self.variant_stages[variant]


def _channel(value: str) -> str:
    if value not in CHANNELS:
        raise ValueError(f"unknown channel {value!r} (known: {', '.join(CHANNELS)})")
    return value


def _check_stage_order(value: dict[str, StageRule]) -> dict[str, StageRule]:
    for stage in value:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r} (known: {', '.join(STAGES)})")
    order = [s for s in STAGES if s in value]
    if list(value) != order:
        raise ValueError(f"stages must be listed top down as {', '.join(order)}")
    if not value:
        raise ValueError("no stages")
    return value


def _merge(base: Any, override: Any) -> Any:
    """Deep merge of a variant's overrides; a key set to null removes it (e.g. a channel)."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif key in merged:
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class _StageTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stages: dict[str, StageRule]

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, value: dict[str, StageRule]) -> dict[str, StageRule]:
        return _check_stage_order(value)


def load_strategy(path: Path, profile: str) -> Strategy:
    """Read, validate and return the strategy at `path` with compliance profile `profile`."""
    path = Path(path)
    name = path.name
    document = read_mapping(path, "strategy")
    # Problems are named at the parent of an unknown field: `stages.CALL: unknown field 'colour'`.
    fields = {k: v for k, v in document.items() if k not in ("profile", "variant_stages")}
    strategy = validated(Strategy, fields, path, unknown_at_parent=True)
    if {"profile", "variant_stages"} & set(document):
        raise ConfigError(f"{name}: profile and variant_stages are not fields of a strategy file")
    if profile not in strategy.profiles:
        known = ", ".join(strategy.profiles) or "none"
        raise ConfigError(f"{name}: profiles: no profile {profile!r} (defined: {known})")

    variant_stages: dict[str, dict[str, StageRule]] = {}
    for variant, spec in strategy.champion_challenger.variants.items():
        merged = _merge(document["stages"], spec.stages)
        within = ("champion_challenger", "variants", variant)
        table = validated(
            _StageTable, {"stages": merged}, path, within=within, unknown_at_parent=True
        )
        variant_stages[variant] = table.stages
    if strategy.risk.model is None:
        tables = {CHAMPION: strategy.stages, **variant_stages}
        for variant, stages in tables.items():
            for stage, rule in stages.items():
                if rule.propensity_max is not None:
                    where = "stages" if variant == CHAMPION else f"variants.{variant}.stages"
                    raise ConfigError(
                        f"{name}: {where}.{stage}.propensity_max needs risk.model (a saved "
                        "model to score the propensity)"
                    )
    return strategy.model_copy(update={"profile": profile, "variant_stages": variant_stages})
