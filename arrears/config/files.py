"""Reading a rule file: YAML -> a mapping -> a validated pydantic model.

Every problem raises ConfigError (exit 2) before anything is read or written, one line per
problem, `<file name>: <where>: <problem>`, e.g. `aging.yaml: loan_class.overide: unknown field`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from arrears.errors import ConfigError

Model = TypeVar("Model", bound=BaseModel)


def read_mapping(path: Path | str, what: str) -> dict[str, Any]:
    """The top-level mapping of the YAML file at `path`; `what` names the file in errors."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}: expected a mapping of settings at the top level")
    return data


def validated(
    model: type[Model],
    data: Mapping[str, Any],
    path: Path | str,
    *,
    within: tuple[str, ...] = (),
    unknown_at_parent: bool = False,
) -> Model:
    """`data` as a `model`, or ConfigError listing every problem of the file at `path`.

    `within` is where `data` sits in the file (the problems name the full place).
    `unknown_at_parent` reports an unknown field at its parent, by name
    (`stages.CALL: unknown field 'colour'`), rather than at the field itself
    (`loan_class.overide: unknown field`).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = (
            f"{Path(path).name}: {_problem(error, within, unknown_at_parent)}"
            for error in exc.errors()
        )
        raise ConfigError("\n".join(lines)) from None


def load_config(path: Path | str, model: type[Model], *, what: str) -> Model:
    """Read the YAML file at `path` and validate it as `model` (see read_mapping, validated)."""
    return validated(model, read_mapping(path, what), path)


def _problem(error: Mapping[str, Any], within: tuple[str, ...], unknown_at_parent: bool) -> str:
    # "[key]" marks a dict key that failed validation; the place is the key itself.
    place = [str(part) for part in (*within, *error["loc"]) if part != "[key]"]
    if error["type"] == "extra_forbidden":
        if unknown_at_parent:
            problem = f"unknown field {place.pop()!r}"
        else:
            problem = "unknown field"
    elif error["type"] == "missing":
        problem = "missing"
    else:
        problem = error["msg"].removeprefix("Value error, ")
    return f"{'.'.join(place) or '(top level)'}: {problem}"
