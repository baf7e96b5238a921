"""Credentials masked by parsing: every connection-string form libpq accepts, in every message."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date

import pytest
from pydantic import ValidationError

from arrears import redact, runs, warehouse
from arrears.errors import ConfigError, RunLocked
from arrears.settings import Settings, load_settings
from tasks.runs import settings_summary

PLANTED = "Zq9-planted-Secret"

# (how libpq is given the password, the connection string, the password it carries)
FORMS = [
    ("url", f"postgresql://arrears:{PLANTED}@db.internal:5432/collections", PLANTED),
    ("url, postgres scheme", f"postgres://arrears:{PLANTED}@db.internal/collections", PLANTED),
    ("url, '/' encoded", "postgresql://arrears:ab%2Fcd%2F9xyz@db/c", "ab/cd/9xyz"),
    ("url, '@' and ':' encoded", "postgresql://arrears:p%40ss%3Aw0rd9@db/c", "p@ss:w0rd9"),
    (
        "url, password in the query",
        "postgresql://arrears@db/c?password=QueryPw9&sslmode=off",
        "QueryPw9",
    ),
    ("url, several hosts", "postgresql://arrears:MultiPw9@h1:5432,h2:5433/c", "MultiPw9"),
    ("key=value", "host=db user=arrears password=KvPlainPw9 dbname=c", "KvPlainPw9"),
    ("key=value, quoted with blanks", "host=db password='kv quoted pw9' dbname=c", "kv quoted pw9"),
    ("key=value, escaped quote", r"host=db password='it\'s-pw\\9' dbname=c", r"it's-pw\9"),
    ("key=value, blanks around '='", "host=db password = SpacedPw9 dbname=c", "SpacedPw9"),
    ("key=value, sslpassword", "host=db sslpassword=SslKeyPw9 dbname=c", "SslKeyPw9"),
]
IDS = [form[0] for form in FORMS]


@pytest.mark.parametrize(("kind", "dsn", "password"), FORMS, ids=IDS)
def test_libpq_finds_the_password_and_every_mask_removes_it(kind, dsn, password, monkeypatch):
    monkeypatch.setattr(redact, "_remembered", set())
    assert password in redact.dsn_secrets(dsn)
    shown = redact.describe_dsn(dsn)
    assert password not in shown and "db" in shown
    # Not remembered: found by the URL and key=value rules alone.
    message = f"could not connect with {dsn!r}: refused"
    assert password not in redact.redact(message)
    assert password not in " ".join(redact.redact_argv(["worker", "--postgres", dsn]))


@pytest.mark.parametrize(("kind", "dsn", "password"), FORMS, ids=IDS)
def test_settings_hold_the_dsn_as_a_secret_and_record_it_without_the_password(kind, dsn, password):
    settings = load_settings(postgres=dsn)
    assert settings.postgres_dsn() == dsn
    for text in (
        str(settings),
        repr(settings),
        settings.model_dump_json(),
        json.dumps(settings_summary(settings), default=str),
    ):
        assert password not in text
    assert settings_summary(settings)["postgres_sink"] is True
    # Remembered while the settings were built: a message anywhere in the process is cleaned.
    assert redact.redact(f"failed near {password}!") == "failed near ***!"


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://arrears:ab/{PLANTED}@db/c",  # libpq: host "arrears", port "ab"
        f"postgresql://arrears:ab@{PLANTED}@db/c",  # libpq: password "ab", host "...@db"
        f"host=db password={PLANTED} x dbname=c",  # libpq: missing "=" after "x"
    ],
    ids=["unencoded /", "unencoded @", "unquoted blank"],
)
def test_a_dsn_libpq_would_misread_is_refused_without_quoting_it(dsn):
    with pytest.raises(ConfigError) as refused:
        load_settings(postgres=dsn)
    assert PLANTED not in str(refused.value) and "postgres" in str(refused.value)
    with pytest.raises(ValidationError) as invalid:
        Settings(postgres=dsn)
    assert PLANTED not in str(invalid.value)
    # In free text (another program's command line) the whole user information is masked.
    assert PLANTED not in redact.redact(f"cmd {dsn} --date 2025-06-01")


def test_pgpassword_in_the_environment_is_masked(monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "EnvOnlyPw9")
    assert redact.redact("the server said: EnvOnlyPw9 rejected") == "the server said: *** rejected"
    assert "EnvOnlyPw9" not in " ".join(redact.redact_argv(["x", "PGPASSWORD=EnvOnlyPw9"]))


def test_password_like_arguments_are_masked():
    argv = [
        "psql-wrapper",
        "--password",
        "NextArgPw9",
        "--db-password=EqualsPw9 with blanks",
        "PGPASSWORD=EnvArgPw9",
        "--token",
        "TokenPw9",
        "--date",
        "2025-06-01",
    ]
    shown = " ".join(redact.redact_argv(argv))
    for secret in ("NextArgPw9", "EqualsPw9", "with blanks", "EnvArgPw9", "TokenPw9"):
        assert secret not in shown
    assert "--date 2025-06-01" in shown


HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("open", flush=True)
time.sleep(60)
"""


def test_the_warehouse_is_open_message_masks_the_holders_command_line(tmp_path):
    db = tmp_path / "arrears.duckdb"
    warehouse.connect(db).close()
    argv = [str(db), "--password", "HolderPw9"] + [dsn for _, dsn, _ in FORMS]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, *argv], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        began = time.monotonic()
        with pytest.raises(RunLocked) as locked:
            warehouse.connect(db, wait_seconds=0.5)
        assert time.monotonic() - began < 30
    finally:
        holder.kill()
        holder.wait()
    message = str(locked.value)
    assert f"PID {holder.pid}:" in message
    for secret in ["HolderPw9", *(password for _, _, password in FORMS)]:
        assert secret not in message, secret


def test_ops_runs_never_records_a_password():
    con = warehouse.connect(":memory:")
    dsn = f"host=db user=arrears password='{PLANTED} x' dbname=c"
    settings = load_settings(postgres=dsn)
    runs.start(con, "R1", date(2025, 6, 1), None, settings_summary(settings))
    runs.add_note(con, "R1", f"note about {dsn}")
    runs.finish(con, "R1", "FAILED", error=f"psycopg said: password={PLANTED} x, also {PLANTED}")
    row = con.execute("select * from ops.runs").fetchall()[0]
    assert PLANTED not in repr(row)
    recorded = json.loads(con.execute("select settings_json from ops.runs").fetchall()[0][0])
    assert recorded["postgres"] == "user=arrears dbname=c host=db password=***"
