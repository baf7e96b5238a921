"""A PostgreSQL sink blocked by another session: the run publishes its outbox, ends
PUBLISHED_SINK_FAILED naming the blocker, and `arrears sink --date D` sends the date again.
Passwords planted in both DSN forms and in PGPASSWORD appear in no sink of text: stderr, every
warehouse table, reports, outbox, Prefect's logs, artifacts, parameters and states."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import psycopg
import pytest
from fixtures.reliability_support import (
    capture_stderr,
    outbox_texts,
    pg_database,
    pg_drop,
    pg_reachable,
    pg_state,
    prefect_texts,
    table_texts,
)

from arrears import warehouse
from arrears.cli import main
from arrears.generate import generate_landing

pytestmark = [pytest.mark.reliability, pytest.mark.integration, pytest.mark.postgres]

D1 = date(2025, 6, 1)
D2 = D1 + timedelta(days=1)
# PostgreSQL trusts local connections here: the passwords are sent nowhere, only carried.
URL_PASSWORD = "Url-pl4nted/pw@x"
KV_PASSWORD = "kv pl4nted 'pw'"
ENV_PASSWORD = "Env-pl4nted-pw"


@pytest.fixture
def database():
    if not pg_reachable():
        pytest.skip("PostgreSQL is unreachable")
    name = f"arrears_sink_{uuid.uuid4().hex[:12]}"
    pg_database(name)
    yield name
    pg_drop(name)


def run(tmp_path, *args: str) -> int:
    where = ["--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "w.duckdb")]
    return main([*args, *where, "--outbox", str(tmp_path / "outbox")])


def test_a_blocked_sink_ends_published_sink_failed_and_arrears_sink_sends_it(
    prefect_harness, database, tmp_path, monkeypatch
):
    from urllib.parse import quote

    monkeypatch.setenv("ARREARS_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("PGPASSWORD", ENV_PASSWORD)
    monkeypatch.setenv("ARREARS_POSTGRES_LOCK_TIMEOUT", "2")
    generate_landing(tmp_path / "landing", D1, 2, loans=120, seed=3)
    url = f"postgresql://postgres:{quote(URL_PASSWORD, safe='')}@127.0.0.1:5432/{database}"
    escaped = KV_PASSWORD.replace("'", "\\'")
    key_value = f"host=127.0.0.1 port=5432 user=postgres dbname={database} password='{escaped}'"
    captured = capture_stderr(monkeypatch)

    assert run(tmp_path, "run", "--date", D1.isoformat(), "--postgres", url) == 0

    # An analyst's session locks the sink table and stays idle in its transaction.
    blocker = psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}")
    blocker.execute("lock table arrears.collection_actions in access exclusive mode")
    try:
        code = run(tmp_path, "run", "--date", D2.isoformat(), "--postgres", key_value)
        pid = blocker.info.backend_pid
    finally:
        blocker.close()

    assert code == 1
    db = tmp_path / "w.duckdb"
    with warehouse.opened(db, read_only=True) as con:
        status, error, finished = con.execute(
            "select status, error, finished_at is not null from ops.runs "
            "where snapshot_date = $d order by started_at desc limit 1",
            {"d": D2},
        ).fetchall()[0]
    assert (status, finished) == ("PUBLISHED_SINK_FAILED", True)
    assert f"pid {pid} (idle in transaction for" in error and "lock" in error
    assert f"pid {pid}" in captured.getvalue()
    action_date = D2 + timedelta(days=1)
    assert (tmp_path / "outbox" / action_date.isoformat() / "_manifest.json").is_file()
    assert (tmp_path / "reports" / D2.isoformat() / "report.html").is_file()
    assert not pg_state(url)["collection_actions"] or all(
        row[1] != action_date for row in pg_state(url)["collection_actions"]
    )

    # Only the sink runs again: the run becomes SUCCEEDED and PostgreSQL mirrors the mart.
    assert run(tmp_path, "sink", "--date", D2.isoformat(), "--postgres", key_value) == 0
    with warehouse.opened(db, read_only=True) as con:
        status, notes = con.execute(
            "select status, notes from ops.runs where snapshot_date = $d "
            "order by started_at desc limit 1",
            {"d": D2},
        ).fetchall()[0]
        mart = sorted(
            r[0]
            for r in con.execute(
                "select action_id from marts.collection_actions where action_date = $a",
                {"a": action_date},
            ).fetchall()
        )
    assert status == "SUCCEEDED" and "sent again" in notes
    sunk = sorted(r[0] for r in pg_state(url)["collection_actions"] if r[1] == action_date)
    assert sunk == mart and mart

    # A date whose latest run did not publish is refused (exit 2).
    assert (
        run(
            tmp_path,
            "sink",
            "--date",
            (D2 + timedelta(days=5)).isoformat(),
            "--postgres",
            key_value,
        )
        == 2
    )

    # No password in any sink of text.
    secrets = (URL_PASSWORD, quote(URL_PASSWORD, safe=""), KV_PASSWORD, escaped, ENV_PASSWORD)
    texts = [("stderr", captured.getvalue())]
    texts += list(table_texts(db))
    texts += [(name, text) for _, name, text in outbox_texts(tmp_path / "outbox")]
    texts += [
        (str(path), path.read_text(encoding="utf-8", errors="replace"))
        for path in (tmp_path / "reports").rglob("*")
        if path.is_file()
    ]
    texts += list(prefect_texts())
    leaks = [(where, s) for where, text in texts for s in secrets if s in text]
    assert not leaks, leaks
    assert len(texts) > 20
