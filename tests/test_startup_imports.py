"""What a command imports before Prefect's local API is started: the start-up's critical path
(docs/operating.md, "Start-up"). Heavy packages come later, or beside the API's start."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import arrears.publish
from arrears.generate import generate_landing

HEAVY = ("prefect", "polars", "psycopg", "great_expectations", "pandas", "lightgbm")


def test_the_checks_before_prefect_import_no_heavy_package(tmp_path: Path):
    day = date(2025, 6, 1)
    generate_landing(tmp_path / "landing", day, 1, loans=20, seed=3)
    script = f"""
import json, sys
from datetime import date
import arrears.cli as cli
settings = cli._settings(landing={str(tmp_path / "landing")!r},
                         warehouse={str(tmp_path / "w.duckdb")!r})
cli._check_landing(settings, [date(2025, 6, 1)])
print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_publish_package_lends_every_name_it_lists():
    for name in arrears.publish.__all__:
        assert getattr(arrears.publish, name) is not None, name
    assert sorted(arrears.publish.__all__) == sorted(arrears.publish._MODULE_OF)
