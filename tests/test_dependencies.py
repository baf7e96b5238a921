"""Every third-party module the shipped packages import belongs to a declared dependency.

A module that only arrives through another package's dependencies (numpy through
great-expectations) works until that package drops it; the wheel must name what it imports.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("arrears", "flows", "tasks", "expectations")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {normalized(re.match(r"[A-Za-z0-9._-]+", d).group()) for d in project["dependencies"]}


def imported() -> dict[str, set[str]]:
    """Top-level module -> the files importing it, over every import statement (lazy ones too)."""
    found: dict[str, set[str]] = {}
    for package in SHIPPED:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_is_a_declared_dependency():
    owners = packages_distributions()
    wanted = declared()
    undeclared = {}
    for module, files in imported().items():
        if module in sys.stdlib_module_names or module in SHIPPED or module == "__future__":
            continue
        distributions = {normalized(d) for d in owners.get(module, [])}
        if not distributions & wanted:
            undeclared[module] = sorted(files)
    assert undeclared == {}


def test_the_check_sees_the_imports_it_judges():
    expected = {"numpy", "duckdb", "great_expectations", "prefect", "typer", "yaml"}
    assert expected <= imported().keys()
