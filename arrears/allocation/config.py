"""Allocation as configuration: teams of agents and outside agencies (CONTRACT section 11).

allocation.yaml is read and validated in full when a run starts, like the strategy: an unknown
stage, channel or field, a capacity below 0 or agency shares above 1 raise ConfigError (exit 2)
naming the file and the place, e.g. `allocation.yaml: teams.field.agents.0.daily_capacity:
Input should be greater than or equal to 0`. Every assignment records the file's version.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from arrears.config import load_config
from arrears.strategy.config import STAGES

_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# The channels someone works by hand; SMS, EMAIL and LETTER go out unassigned.
ALLOCATED_CHANNELS: tuple[str, ...] = ("CALL", "VISIT", "LEGAL")
AGENT, AGENCY = "AGENT", "AGENCY"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _channels(value: tuple[str, ...]) -> tuple[str, ...]:
    for channel in value:
        if channel not in ALLOCATED_CHANNELS:
            raise ValueError(
                f"unknown channel {channel!r} (allocated: {', '.join(ALLOCATED_CHANNELS)})"
            )
    return value


def _stages(value: tuple[str, ...]) -> tuple[str, ...]:
    for stage in value:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r} (known: {', '.join(STAGES)})")
    return value


class Agent(_Model):
    agent_id: str = Field(min_length=1)
    # Actions a day at most; none: no limit (the bundled default's one agent per team).
    daily_capacity: int | None = Field(default=None, ge=0)


class Team(_Model):
    """Agents who share channels, stages and branches (empty stages or branches: all)."""

    channels: tuple[str, ...] = Field(min_length=1)
    stages: tuple[str, ...] = ()
    branches: tuple[str, ...] = ()
    commission_rate: Decimal = Field(default=Decimal(0), ge=0, le=1, decimal_places=4)
    agents: tuple[Agent, ...] = Field(min_length=1)

    _check_channels = field_validator("channels")(classmethod(lambda cls, v: _channels(v)))
    _check_stages = field_validator("stages")(classmethod(lambda cls, v: _stages(v)))


class AgencyRule(_Model):
    """Which customers an agency takes by rule: all conditions given must hold."""

    branches: tuple[str, ...] = ()
    overdue_min: Decimal | None = Field(default=None, ge=0, decimal_places=2)


class SpeedBonus(_Model):
    """Extra commission on what is collected within `within_days` of the placement."""

    within_days: int = Field(ge=1)
    rate: Decimal = Field(ge=0, le=1, decimal_places=4)


class Agency(_Model):
    stages: tuple[str, ...] = Field(min_length=1)
    # A stable share of the stage's new placements (hash of the customer), or a rule.
    share: Decimal | None = Field(default=None, gt=0, le=1, decimal_places=4)
    rule: AgencyRule | None = None
    placement_days: int = Field(ge=1)
    commission_rate: Decimal = Field(ge=0, le=1, decimal_places=4)
    speed_bonus: SpeedBonus | None = None

    _check_stages = field_validator("stages")(classmethod(lambda cls, v: _stages(v)))

    @model_validator(mode="after")
    def _share_or_rule(self) -> Agency:
        if (self.share is None) == (self.rule is None):
            raise ValueError("give exactly one of share or rule")
        return self


class Routing(_Model):
    # The solver's limit for one agent's day; past it the grouped order stands.
    time_limit_seconds: float = Field(default=1.0, gt=0, le=60)
    # The whole night's routing stops asking the solver past this (the rest keep the grouped
    # order), so a large field force cannot stretch the night.
    total_limit_seconds: float = Field(default=20.0, gt=0)


class Allocation(_Model):
    version: str = Field(min_length=1)
    salt: str = Field(default="placement", min_length=1)
    teams: dict[str, Team] = Field(min_length=1)
    agencies: dict[str, Agency] = Field(default_factory=dict)
    routing: Routing = Field(default_factory=Routing)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int | float | Decimal) else value

    @model_validator(mode="after")
    def _consistent(self) -> Allocation:
        seen: dict[str, str] = {}
        for team_id, team in self.teams.items():
            for agent in team.agents:
                if agent.agent_id in seen:
                    raise ValueError(
                        f"agent {agent.agent_id!r} is in teams {seen[agent.agent_id]} "
                        f"and {team_id}: one team per agent"
                    )
                seen[agent.agent_id] = team_id
        for agency_id in self.agencies:
            if not _FILE_NAME.match(agency_id):
                raise ValueError(
                    f"agency id {agency_id!r}: letters, digits, '.', '_' and '-' only "
                    "(it names the agency's outbox file)"
                )
            if agency_id in seen:
                raise ValueError(f"{agency_id!r} names both an agent and an agency")
        for stage in STAGES:
            total = sum(
                (a.share for a in self.agencies.values() if a.share and stage in a.stages),
                Decimal(0),
            )
            if total > 1:
                raise ValueError(f"agencies: the shares of stage {stage} add up to {total} > 1")
        return self

    def agents(self) -> list[tuple[str, str, Team, Agent]]:
        """(team_id, agent_id, team, agent) in file order."""
        return [(tid, a.agent_id, t, a) for tid, t in self.teams.items() for a in t.agents]


def load_allocation(path: Path | str) -> Allocation:
    """Read, validate and return the allocation at `path`."""
    return load_config(path, Allocation, what="allocation")
