"""Loading and validating the strategy file: the default loads, mistakes are refused with where."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from strategy_support import DEFAULT_STRATEGY

from arrears.errors import ConfigError
from arrears.strategy import STAGES, load_strategy


def write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "strategy.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def document() -> dict:
    return yaml.safe_load(DEFAULT_STRATEGY.read_text(encoding="utf-8"))


def test_default_is_contract_section_4():
    plan = load_strategy(DEFAULT_STRATEGY, "cn")
    assert tuple(plan.stages) == STAGES
    table = {
        stage: (
            str(rule.dpd),
            {c: (r.every_days or r.once_per) for c, r in rule.channels.items()},
        )
        for stage, rule in plan.stages.items()
    }
    assert table == {
        "LEGAL": ("91+", {"LEGAL": "episode"}),
        "RECOVERY": ("91+", {"CALL": 3, "LETTER": 30}),
        "VISIT": ("61-90", {"VISIT": 14, "CALL": 2}),
        "LETTER": ("31-90", {"LETTER": 30, "CALL": 2}),
        "CALL": ("8-30", {"CALL": 1, "SMS": 7}),
        "REMINDER": ("1-7", {"SMS": 2}),
        "PRE_DUE": ("0-0", {"SMS": "installment"}),
    }
    assert plan.stages["LEGAL"].customer_outstanding_min == Decimal("20000.00")
    assert plan.stages["LEGAL"].requires_prior.channel == "LETTER"
    assert plan.stages["LEGAL"].requires_prior.min_days_before == 15
    assert plan.stages["VISIT"].customer_overdue_min == Decimal("5000.00")
    assert plan.stages["RECOVERY"].or_status == ("CHARGED_OFF",)
    assert plan.stages["PRE_DUE"].due_in_days == 3
    assert plan.holds["DECEASED"].allow_channels == ()
    assert plan.holds["BANKRUPTCY"].allow_channels == ("LEGAL",)
    assert plan.active_profile.window.start == "08:00"
    assert plan.active_profile.window.end == "22:00"
    assert plan.active_profile.call_attempts_per_day == 6
    assert plan.version


def test_profiles_cn_and_us():
    us = load_strategy(DEFAULT_STRATEGY, "us").active_profile
    assert (us.window.start, us.window.end) == ("08:00", "21:00")
    assert (us.call_attempts_per_loan, us.call_attempt_period_days) == (7, 7)
    assert us.call_quiet_days_after_connected == 7
    assert us.call_attempts_per_day is None


def test_variant_overrides_merge_into_the_stage_table(tmp_path, document):
    document["champion_challenger"]["variants"]["faster_sms"]["share"] = 0.2
    document["champion_challenger"]["variants"]["faster_sms"]["stages"]["CALL"] = {
        "channels": {"SMS": None, "CALL": {"every_days": 2}}
    }
    plan = load_strategy(write(tmp_path, document), "cn")
    variant = plan.stages_for("faster_sms")
    assert variant["REMINDER"].channels["SMS"].every_days == 1
    assert list(variant["CALL"].channels) == ["CALL"]
    assert variant["CALL"].channels["CALL"].every_days == 2
    assert variant["CALL"].channels["CALL"].template == "early_call"
    assert plan.stages["CALL"].channels["SMS"].every_days == 7  # the champion is untouched


def edit(document: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    node = document
    for key in parents:
        node = node[key]
    node[last] = value


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("stages.VISIT.dpd", "90-61"), "strategy.yaml: stages.VISIT.dpd: 90-61 is empty"),
        (("stages.CALL.dpd", "eight"), "stages.CALL.dpd: 'eight' is not a dpd range"),
        (
            ("stages.CALL.channels.FAX", {"every_days": 1, "template": "t"}),
            "stages.CALL.channels: unknown channel 'FAX'",
        ),
        (
            ("stages.REMINDER.channels.SMS.every_days", 0),
            "stages.REMINDER.channels.SMS.every_days: Input should be greater than or equal to 1",
        ),
        (
            ("stages.REMINDER.channels.SMS.once_per", "episode"),
            "stages.REMINDER.channels.SMS: give exactly one of every_days or once_per",
        ),
        (("stages.CALL.colour", "red"), "stages.CALL: unknown field 'colour'"),
        (
            ("stages.LEGAL.requires_prior.channel", "PIGEON"),
            "stages.LEGAL.requires_prior.channel: unknown channel 'PIGEON'",
        ),
        (("stages.RECOVERY.or_status", ["SLEEPING"]), "unknown loan status 'SLEEPING'"),
        (("holds.VACATION", {"allow_channels": []}), "holds: unknown hold kind 'VACATION'"),
        (("holds.DISPUTE.allow_channels", ["TELEGRAM"]), "unknown channel 'TELEGRAM'"),
        (("profiles.cn.window", "22:00-08:00"), "profiles.cn.window: 22:00-08:00 is empty"),
        (("profiles.de", {"window": "08:00-20:00"}), "profiles: unknown profile 'de'"),
        (("capacity.CALL", -1), "capacity: CALL: capacity -1 is negative"),
        (("capacity.FAX", 10), "capacity: unknown channel 'FAX'"),
        (("risk.weights.dpd", -1), "risk.weights.dpd: Input should be greater than or equal to 0"),
        (("champion_challenger.variants.faster_sms.share", 1.5), "less than or equal to 1"),
        (
            (
                "champion_challenger.variants.faster_sms.stages",
                {"CALL": {"channels": {"FAX": {"every_days": 1, "template": "t"}}}},
            ),
            "champion_challenger.variants.faster_sms.stages.CALL.channels: unknown channel 'FAX'",
        ),
        (("version", ""), "version: String should have at least 1 character"),
        (("risk.weights.balance", 20000), "risk: weights add up to 20090; at most 10000"),
        (("surprise", 1), "unknown field 'surprise'"),
    ],
)
def test_refused_with_where(tmp_path, document, change, message):
    edit(document, *change)
    with pytest.raises(ConfigError) as raised:
        load_strategy(write(tmp_path, document), "cn")
    assert message in str(raised.value)
    assert str(raised.value).startswith("strategy.yaml: ")
    assert raised.value.exit_code == 2


def test_unknown_stage_refused(tmp_path, document):
    document["stages"]["SUE"] = document["stages"].pop("LEGAL")
    with pytest.raises(ConfigError, match="stages: unknown stage 'SUE'"):
        load_strategy(write(tmp_path, document), "cn")


def test_stages_out_of_order_refused(tmp_path, document):
    document["stages"] = {
        "REMINDER": document["stages"]["REMINDER"],
        "CALL": document["stages"]["CALL"],
    }
    with pytest.raises(ConfigError, match="stages must be listed top down as CALL, REMINDER"):
        load_strategy(write(tmp_path, document), "cn")


def test_missing_hold_kind_refused(tmp_path, document):
    del document["holds"]["HARDSHIP"]
    with pytest.raises(ConfigError, match="missing: HARDSHIP"):
        load_strategy(write(tmp_path, document), "cn")


def test_shares_above_one_refused(tmp_path, document):
    variants = document["champion_challenger"]["variants"]
    variants["faster_sms"]["share"] = 0.6
    variants["other"] = {"share": 0.5, "stages": {}}
    with pytest.raises(ConfigError, match="variant shares add up to 1.1, more than 1"):
        load_strategy(write(tmp_path, document), "cn")


def test_unknown_profile_selected(tmp_path):
    with pytest.raises(ConfigError, match="no profile 'eu'"):
        load_strategy(DEFAULT_STRATEGY, "eu")


def test_unreadable_and_not_yaml(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the strategy"):
        load_strategy(tmp_path / "missing.yaml", "cn")
    bad = tmp_path / "strategy.yaml"
    bad.write_text("stages: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_strategy(bad, "cn")
