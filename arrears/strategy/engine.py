"""Deciding: who is contacted on the action date, through which channel, and who is not and why.

The work happens in DuckDB (the SQL models under sql/, run by arrears.registry). Python only
turns the strategy into small configuration tables in work.strategy_* and into bound parameters.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from arrears import registry, state, warehouse
from arrears.aging import AGE_MODELS
from arrears.strategy.config import Strategy

# Buckets of the champion/challenger split: the first 32 bits of md5(salt:customer_id).
HASH_BUCKETS = 2**32

# The results of the decide step, typed as their marts; the registry builds what they read.
OUTPUTS = ("arrangement_status", "collection_actions", "suppressed_actions")

# Inputs the run may lack (optional datasets): an empty table of the contract's shape stands in.
_INPUT_DATASETS = (
    "customers",
    "installments",
    "arrangements",
    "holds",
    "contact_events",
    "bureau",
)

_CONFIG_DDL = {
    "work.strategy_stages": """
        create or replace table work.strategy_stages (
            variant varchar not null,
            stage varchar not null,
            stage_rank integer not null,
            dpd_min integer not null,
            dpd_max integer,
            or_statuses varchar[] not null,
            customer_outstanding_min decimal(18,2),
            customer_overdue_min decimal(18,2),
            prior_channel varchar,
            prior_min_days integer,
            due_in_days integer,
            bureau_score_max integer,
            propensity_max double
        )""",
    "work.strategy_channels": """
        create or replace table work.strategy_channels (
            variant varchar not null,
            stage varchar not null,
            channel varchar not null,
            every_days integer,
            once_per varchar,
            template varchar not null
        )""",
    "work.strategy_holds": """
        create or replace table work.strategy_holds (
            kind varchar not null,
            hold_rank integer not null,
            allowed_channels varchar[] not null
        )""",
    "work.strategy_variants": """
        create or replace table work.strategy_variants (
            variant varchar not null,
            bucket_from bigint not null,
            bucket_to bigint not null
        )""",
    # The roll-forward model's scores of tonight's aged loans (empty without risk.model).
    "work.strategy_model_scores": """
        create or replace table work.strategy_model_scores (
            loan_id varchar not null,
            probability double not null,
            propensity double not null,
            risk_score decimal(9,4) not null
        )""",
    "work.strategy_capacity": """
        create or replace table work.strategy_capacity (
            channel varchar not null,
            capacity bigint not null
        )""",
}

# Holds are checked most restrictive first: the reason recorded is the first blocking kind.
_HOLD_ORDER = (
    "DECEASED",
    "LEGAL_HOLD",
    "BANKRUPTCY",
    "CEASE_CONTACT",
    "DISPUTE",
    "COMPLAINT",
    "HARDSHIP",
)
# The grace after a PROMISE outcome (CONTRACT section 9) blocks like a hold, after every kind:
# no escalation, only the reminder channel, as HARDSHIP's "nothing beyond a reminder SMS".
PROMISE_GRACE = "PROMISE_GRACE"
PROMISE_GRACE_CHANNELS = ("SMS",)


# The tables write_config_tables fills.
CONFIG_TABLES = tuple(name.removeprefix("work.") for name in _CONFIG_DDL)


def variant_buckets(strategy: Strategy) -> list[tuple[str, int, int]]:
    """Each challenger's [from, to) range of hash buckets; the champion gets what is left."""
    ranges = []
    start = 0
    cumulative = Decimal(0)
    for name, variant in strategy.champion_challenger.variants.items():
        cumulative += variant.share
        end = int(cumulative * HASH_BUCKETS)
        ranges.append((name, start, end))
        start = end
    return ranges


def write_config_tables(con: duckdb.DuckDBPyConnection, strategy: Strategy) -> None:
    """The strategy as small tables in work.*: every value goes in as a bound parameter."""
    for ddl in _CONFIG_DDL.values():
        con.execute(ddl)

    stage_rows: list[tuple[Any, ...]] = []
    channel_rows: list[tuple[Any, ...]] = []
    for variant in strategy.variants:
        for rank, (stage, rule) in enumerate(strategy.stages_for(variant).items(), start=1):
            prior = rule.requires_prior
            stage_rows.append(
                (
                    variant,
                    stage,
                    rank,
                    rule.dpd.min_dpd,
                    rule.dpd.max_dpd,
                    list(rule.or_status),
                    rule.customer_outstanding_min,
                    rule.customer_overdue_min,
                    prior.channel if prior else None,
                    prior.min_days_before if prior else None,
                    rule.due_in_days,
                    rule.bureau_score_max,
                    rule.propensity_max,
                )
            )
            for channel, cadence in rule.channels.items():
                channel_rows.append(
                    (
                        variant,
                        stage,
                        channel,
                        cadence.every_days,
                        cadence.once_per,
                        cadence.template,
                    )
                )
    con.executemany(
        "insert into work.strategy_stages values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        stage_rows,
    )
    con.executemany("insert into work.strategy_channels values (?, ?, ?, ?, ?, ?)", channel_rows)

    hold_rows = [
        (kind, rank, list(strategy.holds[kind].allow_channels))
        for rank, kind in enumerate(_HOLD_ORDER, start=1)
    ]
    hold_rows.append((PROMISE_GRACE, len(hold_rows) + 1, list(PROMISE_GRACE_CHANNELS)))
    con.executemany("insert into work.strategy_holds values (?, ?, ?)", hold_rows)

    variant_rows = variant_buckets(strategy)
    if variant_rows:
        con.executemany("insert into work.strategy_variants values (?, ?, ?)", variant_rows)
    capacity_rows = list(strategy.capacity.items())
    if capacity_rows:
        con.executemany("insert into work.strategy_capacity values (?, ?)", capacity_rows)


def decide_params(snapshot_date: date, strategy: Strategy, default_timezone: str) -> dict[str, Any]:
    profile = strategy.active_profile
    weights, caps = strategy.risk.weights, strategy.risk.caps
    return {
        "snapshot_date": snapshot_date,
        "action_date": snapshot_date + timedelta(days=1),
        "default_timezone": default_timezone,
        "strategy_version": strategy.version,
        "model_version": strategy.risk.model,
        "salt": strategy.champion_challenger.salt,
        "reminder_days_before": strategy.arrangements.reminder_days_before,
        "reminder_template": strategy.arrangements.reminder_template,
        "dispute_days": strategy.outcomes.dispute_days,
        "promise_grace_days": strategy.outcomes.promise_grace_days,
        "window_start": profile.window.start,
        "window_end": profile.window.end_time(),
        "call_attempts_per_day": profile.call_attempts_per_day,
        "call_attempts_per_loan": profile.call_attempts_per_loan,
        "period_days": profile.call_attempt_period_days,
        "quiet_days": profile.call_quiet_days_after_connected,
        "w_dpd": weights.dpd,
        "w_months_delinquent": weights.months_delinquent,
        "w_broken_promises": weights.broken_promises,
        "w_days_since_payment": weights.days_since_payment,
        "w_balance": weights.balance,
        "w_bureau": weights.bureau,
        "cap_bureau_score": caps.bureau_score,
        "cap_external_overdue": caps.external_overdue_accounts,
        "cap_dpd": caps.dpd,
        "cap_broken_promises": caps.broken_promises,
        "cap_days_since_payment": caps.days_since_payment,
        "cap_balance": caps.balance,
    }


def _ensure_inputs(con: duckdb.DuckDBPyConnection) -> None:
    existing = {
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'work'"
        ).fetchall()
    }
    for dataset in _INPUT_DATASETS:
        if dataset not in existing:
            con.execute(warehouse.work_table_ddl(dataset))


def decide(
    con: duckdb.DuckDBPyConnection,
    snapshot_date: date,
    strategy: Strategy,
    default_timezone: str,
    models_dir: Path | None = None,
    *,
    configured: bool = False,
) -> dict[str, int]:
    """Build work.arrangement_status, work.collection_actions and work.suppressed_actions for
    action date snapshot_date + 1 from work.loan_aging and the other work.* inputs of the run,
    and the published history in marts.*; returns the row count of each output.

    With risk.model, tonight's aged loans are scored first (models_dir/<version>/).
    `configured`: work.strategy_* already hold `strategy` (a simulation writes them once)."""
    _ensure_inputs(con)
    if not configured:
        write_config_tables(con, strategy)
    params = decide_params(snapshot_date, strategy, default_timezone)
    params.update(state.previous_dates(con, snapshot_date))
    given: tuple[str, ...] = AGE_MODELS
    if strategy.risk.model is not None:
        from arrears.risk import scoring

        model = scoring.load(models_dir or Path("models"), strategy.risk.model)
        given = (*AGE_MODELS, *scoring.score(con, model, params, given=AGE_MODELS))
    return registry.build(con, OUTPUTS, params, given=given)
