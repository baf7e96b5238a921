"""The project's SQL files: where they are, their text, and binding their `$parameters`.

In a checkout the SQL lives in the top-level `sql/` folder; an installed wheel carries the same
folder inside the package as `arrears/sql/` (pyproject.toml maps it there). One loader finds
either, so a model, a schema file or a report query is read the same way everywhere.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arrears.errors import ArrearsError

_PACKAGE = Path(__file__).resolve().parent
# A `$name` parameter outside comments and string literals; `$$` never occurs in our SQL.
_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_COMMENT_OR_STRING = re.compile(r"--[^\n]*|'(?:[^']|'')*'")


@functools.cache
def sql_root() -> Path:
    """`arrears/sql` in an installed wheel, else the checkout's top-level `sql/`."""
    for candidate in (_PACKAGE / "sql", _PACKAGE.parent / "sql"):
        if (candidate / "schema").is_dir():
            return candidate
    raise ArrearsError(
        f"the SQL files are missing: neither {_PACKAGE / 'sql'} nor {_PACKAGE.parent / 'sql'} "
        "holds a schema/ folder; reinstall arrears"
    )


@functools.cache
def sql_text(name: str) -> str:
    """The text of `sql/<name>.sql` (name may contain folders: `marts/loan_aging`)."""
    return (sql_root() / f"{name}.sql").read_text(encoding="utf-8")


@functools.cache
def parameters(query: str) -> frozenset[str]:
    """The `$parameters` a statement uses (those in comments and string literals excluded)."""
    return frozenset(_PARAMETER.findall(_COMMENT_OR_STRING.sub(" ", query)))


def bind(query: str, params: Mapping[str, Any] | None, *, where: str = "query") -> dict[str, Any]:
    """The values of exactly the parameters `query` uses: DuckDB refuses unused ones, and a
    missing one is named here rather than as a binder error deep in a run."""
    params = params or {}
    wanted = parameters(query)
    missing = sorted(wanted - params.keys())
    if missing:
        raise ArrearsError(f"{where} needs the parameters {', '.join(missing)}, not given")
    return {name: params[name] for name in wanted}
