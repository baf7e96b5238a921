"""Bureau reporting end to end: generated nights over a month end, through the nightly flow.
The month-end night writes `<outbox>/bureau/<YYYY-MM>/`; `arrears bureau --month` writes the
same bytes again from the committed rows; the other nights write none; and the privacy scan
finds no personal data but name and national id in the files, and none in the warehouse."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fixtures.reliability_support import (
    CHANNEL_ALLOWED,
    PersonalScanner,
    outbox_texts,
    personal_values,
    table_texts,
)

from arrears import warehouse
from arrears.bureau import files
from arrears.cli import main
from arrears.generate import generate_landing
from arrears.publish.manifest import MANIFEST_NAME, file_sha256

pytestmark = pytest.mark.integration

FIRST = MONTH_END = date(2025, 5, 31)


def options(root: Path) -> list[str]:
    return [
        *("--warehouse", str(root / "arrears.duckdb")),
        *("--outbox", str(root / "outbox")),
    ]


@pytest.fixture(scope="module")
def ran(prefect_harness, tmp_path_factory):
    root = tmp_path_factory.mktemp("bureau-run")
    generate_landing(root / "landing", FIRST, 2, 200, seed=11)
    args = ["backfill", "--from", FIRST.isoformat(), "--to", "2025-06-01", "--init"]
    assert main([*args, "--landing", str(root / "landing"), *options(root)]) == 0
    folder = files.month_folder(root / "outbox", MONTH_END.replace(day=1))
    return {
        "root": root,
        "folder": folder,
        "bytes": {p.name: p.read_bytes() for p in folder.iterdir()},
    }


def test_the_month_end_night_writes_the_month_and_no_other_night_does(ran):
    bureau = ran["root"] / "outbox" / "bureau"
    assert sorted(p.name for p in bureau.iterdir() if not p.name.startswith(".")) == ["2025-05"]
    assert set(ran["bytes"]) == {files.PBOC_NAME, files.METRO2_NAME, MANIFEST_NAME}
    with warehouse.opened(ran["root"] / "arrears.duckdb", read_only=True) as con:
        months = con.execute(
            "select report_month, snapshot_date, count(*) from marts.bureau_accounts group by all"
        ).fetchall()
        on_book = con.execute(
            "select count(*) from marts.loan_aging where snapshot_date = $d",
            {"d": MONTH_END},
        ).fetchall()[0][0]
    assert months == [(date(2025, 5, 1), MONTH_END, on_book)]
    lines = ran["bytes"][files.METRO2_NAME].rstrip(b"\n").split(b"\n")
    assert len(lines) == on_book + 2


def test_arrears_bureau_writes_the_same_bytes_again(ran, capsys):
    (ran["folder"] / files.PBOC_NAME).unlink()
    assert main(["bureau", "--month", "2025-05", *options(ran["root"])]) == 0
    again = {p.name: p.read_bytes() for p in ran["folder"].iterdir()}
    for name in (files.PBOC_NAME, files.METRO2_NAME):
        assert again[name] == ran["bytes"][name]
    manifest = __import__("json").loads(again[MANIFEST_NAME])
    for entry in manifest["files"]:
        assert file_sha256(ran["folder"] / entry["name"]) == (entry["sha256"], entry["bytes"])
    assert main(["bureau", "--month", "2025-13", *options(ran["root"])]) == 2
    assert main(["bureau", "--month", "2025-04", *options(ran["root"])]) == 1


def test_privacy_scan_of_the_bureau_files_and_the_warehouse(ran):
    scanner = PersonalScanner(personal_values(ran["root"] / "landing"))
    leaks, seen = [], 0
    for channel, name, text in outbox_texts(ran["root"] / "outbox" / "bureau"):
        if name.endswith(".json"):  # the manifest: names, counts and checksums only
            if hits := scanner.find(text):
                leaks.append(f"{name}: {hits}")
            continue
        seen += 1
        if hits := scanner.find(text, allowed=CHANNEL_ALLOWED[channel]):
            leaks.append(f"{name}: {hits}")
        # the scan can see what it looks for: the identity keys are in the files
        assert scanner.find(text), name
    for table, text in table_texts(ran["root"] / "arrears.duckdb"):
        if table.startswith("marts.bureau") and (hits := scanner.find(text)):
            leaks.append(f"{table}: {hits}")
    assert seen == 2 and not leaks, leaks
