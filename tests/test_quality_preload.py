"""Great Expectations is loaded on a side thread during ingest, and ready when validation starts."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys, threading
from arrears.quality import preload
assert "great_expectations" not in sys.modules
preload.start()
assert any(t.name == "gx-preload" for t in threading.enumerate())
preload.wait()
from arrears.quality import gx_duckdb
assert "great_expectations" in sys.modules and gx_duckdb.is_installed()
print("ok")
"""


def test_preload_imports_and_patches_gx_in_the_background():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
