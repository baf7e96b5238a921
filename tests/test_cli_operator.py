"""The command line as a data engineer meets it: --version, help without type noise, bad
configuration refused before anything is read or written, every landing problem in one run,
found before Prefect starts, and a failure that ends with its one error line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from arrears import warehouse
from arrears.cli import app, main
from arrears.generate import generate_landing

DAY = date(2025, 6, 1)


def test_version(capsys):
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"arrears {version('arrears')}"


def test_help_shows_no_types(capsys):
    import typer.main

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert {"run", "backfill", "cancel", "sink"} <= set(commands)
    for name in [None, *commands]:
        assert main([name, "--help"] if name else ["--help"]) == 0
        text = capsys.readouterr().out
        for noise in ("<bool>", "<str>", "<path>", "<int>", "<float>"):
            assert noise not in text, (name, noise, text)
    main(["run", "--help"])
    text = capsys.readouterr().out
    assert "DATE" in text and "DIR" in text and "DSN" in text


def test_an_unreachable_sink_is_refused_before_anything_is_written(tmp_path, capsys):
    code = main(
        [
            "run",
            "--date",
            DAY.isoformat(),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
            "--landing",
            str(tmp_path / "landing"),
            "--postgres",
            "postgresql://arrears:s3cretpw@127.0.0.1:1/collections",
        ]
    )
    stderr = capsys.readouterr().err
    assert code == 2
    assert "cannot connect to the PostgreSQL sink" in stderr
    assert "s3cretpw" not in stderr
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    generate_landing(tmp_path / "landing", DAY, 1, loans=60, seed=3, payments=False)
    return tmp_path / "landing"


def break_header(path: Path, column: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace(column, column + "_x", 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_every_landing_problem_in_one_run_before_prefect(landing, tmp_path, capsys):
    """Two headers broken and a required file gone: one run names all three, in a second,
    and records the refusal in ops.runs of an existing warehouse."""
    folder = landing / DAY.isoformat()
    break_header(folder / "loans.csv", "outstanding_principal")
    break_header(folder / "installments.csv", "due_date")
    (folder / "customers.csv").unlink()
    data = tmp_path / "data" / "w.duckdb"
    assert main(["init", "--warehouse", str(data), "--landing", str(landing)]) == 0
    capsys.readouterr()

    began = time.monotonic()
    code = main(
        ["run", "--date", DAY.isoformat(), "--landing", str(landing), "--warehouse", str(data)]
    )
    took = time.monotonic() - began
    stderr = capsys.readouterr().err
    assert code == 3
    assert "loans.csv: missing required column outstanding_principal" in stderr
    assert "installments.csv: missing required column due_date" in stderr
    assert "required dataset customers is missing" in stderr
    assert took < 15, took  # no Prefect, no warehouse read beyond the ops.runs row
    with warehouse.opened(data, read_only=True) as con:
        status, error = con.execute(
            "select status, error from ops.runs order by started_at desc limit 1"
        ).fetchall()[0]
    assert status == "REJECTED"
    assert "due_date" in error and "outstanding_principal" in error and "customers" in error


@pytest.mark.parametrize(
    ("encoding", "header", "said"),
    [
        ("utf-8", "逾期".encode("gb18030"), "text is not valid UTF-8"),
        ("gb18030", b"\x81\x20", "text is not valid gb18030 (byte offset"),
    ],
)
def test_a_header_that_is_not_text_is_refused_before_prefect(
    landing, tmp_path, capsys, monkeypatch, encoding, header, said
):
    """Bytes the configured encoding cannot decode in a header line: refused with the run's
    own message, in the first second, before any warehouse exists."""
    monkeypatch.setenv("ARREARS_ENCODING", encoding)
    path = landing / DAY.isoformat() / "holds.csv"
    raw = path.read_bytes()
    path.write_bytes(header + b"_" + raw)
    data = tmp_path / "w.duckdb"
    began = time.monotonic()
    code = main(
        ["run", "--date", DAY.isoformat(), "--landing", str(landing), "--warehouse", str(data)]
    )
    took = time.monotonic() - began
    stderr = capsys.readouterr().err
    assert code == 3
    assert "holds.csv" in stderr and said in stderr, stderr
    assert took < 15, took
    assert not data.exists()


def test_a_missing_folder_is_reported_without_creating_a_warehouse(tmp_path, capsys):
    data = tmp_path / "w.duckdb"
    code = main(
        ["run", "--date", DAY.isoformat(), "--landing", str(tmp_path), "--warehouse", str(data)]
    )
    assert code == 3
    assert "landing folder for the snapshot date does not exist" in capsys.readouterr().err
    assert not data.exists()


def test_every_broken_column_of_every_file_in_one_rejection(landing, tmp_path):
    """Values the header cannot show: two columns of loans, one of installments, one run."""
    from arrears import ingest
    from arrears.errors import Rejections

    folder = landing / DAY.isoformat()
    loans = (folder / "loans.csv").read_text(encoding="utf-8").splitlines()
    names = loans[0].split(",")
    row = loans[1].split(",")
    row[names.index("origination_date")] = "2025-13-45"
    row[names.index("principal_amount")] = "lots"
    loans[1] = ",".join(row)
    (folder / "loans.csv").write_text("\n".join(loans) + "\n", encoding="utf-8")
    plan = (folder / "installments.csv").read_text(encoding="utf-8").splitlines()
    names = plan[0].split(",")
    row = plan[2].split(",")
    row[names.index("due_date")] = "2025-02-30"
    plan[2] = ",".join(row)
    (folder / "installments.csv").write_text("\n".join(plan) + "\n", encoding="utf-8")

    with warehouse.opened(tmp_path / "w.duckdb") as con, pytest.raises(Rejections) as caught:
        ingest.ingest(con, DAY, landing)
    rules = [(Path(r.file).name, r.rule, r.count) for r in caught.value.rejections]
    assert rules == [
        ("loans.csv", "column origination_date: not a date (YYYY-MM-DD)", 1),
        ("loans.csv", "column principal_amount: not an amount with at most 2 decimals", 1),
        ("installments.csv", "column due_date: not a date (YYYY-MM-DD)", 1),
    ]
    text = str(caught.value)
    assert "key LN" in text and "'2025-02-30'" in text


def command(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from arrears.cli import entry; entry()", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.integration
def test_a_command_without_a_server_runs_and_fails_with_one_last_line(landing, tmp_path):
    """The `arrears` process with no Prefect server configured: the local API, a night that
    completes, then a night that fails in the flow and ends with the error line, no
    traceback, nothing after it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ARREARS_"))}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        ARREARS_LANDING=str(landing),
        ARREARS_WAREHOUSE=str(tmp_path / "data" / "w.duckdb"),
        ARREARS_OUTBOX=str(tmp_path / "outbox"),
        ARREARS_REPORTS=str(tmp_path / "reports"),
        COLUMNS="200",
    )
    done = command("run", "--date", DAY.isoformat(), "--init", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    said = done.stdout + done.stderr
    assert f"Flow run 'daily-{DAY}'" in said
    assert "Starting temporary server" not in said and "View at" not in said

    loans = landing / DAY.isoformat() / "loans.csv"
    lines = loans.read_text(encoding="utf-8").splitlines()
    names = lines[0].split(",")
    row = lines[1].split(",")
    row[names.index("status")] = "HAUNTED"
    lines[1] = ",".join(row)
    loans.write_text("\n".join(lines) + "\n", encoding="utf-8")
    failed = command("run", "--date", DAY.isoformat(), env=env, cwd=tmp_path)
    assert failed.returncode == 3, failed.stderr[-3000:]
    stderr = failed.stderr.rstrip("\n").splitlines()
    first = next(i for i, line in enumerate(stderr) if line.startswith("error (exit 3): "))
    # the message, its examples and hint; then nothing
    assert all(line.startswith((" ", "loans")) for line in stderr[first + 1 :]), stderr[first:]
    assert "Traceback" not in failed.stderr and "nanobind" not in failed.stderr
    assert "loans.csv" in stderr[first]
