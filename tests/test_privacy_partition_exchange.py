"""No clear personal value in the partition exchange folder.

A partitioned run writes its inputs and results as Parquet into a folder that workers on other
machines read (docs/scaling.md). The staging models that read the customers' phone, email and
address run in the main process; the exchange carries their rows (has_phone, fingerprints) and
the customers with every personal column emptied (arrears.partition.WITHHELD, STAGED)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from fixtures.reliability_support import PersonalScanner, personal_values

from arrears import commit, ingest, partition, registry, state, warehouse
from arrears.aging import build_aging, load_aging_config
from arrears.errors import ArrearsError
from arrears.generate import generate_landing
from arrears.risk.scoring import FEATURE_MODEL
from arrears.settings import DEFAULTS_DIR
from arrears.strategy import decide, load_strategy

START = date(2025, 6, 1)
TIMEZONE = "Asia/Shanghai"


def exchange_texts(exchange: Path) -> dict[str, str]:
    """Every file of the folder as text: its raw bytes, and for Parquet every string cell too
    (Parquet pages may be compressed, so the bytes alone would not show a value)."""
    texts = {}
    con = duckdb.connect()
    for path in sorted(p for p in exchange.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", errors="replace")
        if path.suffix == ".parquet":
            source = "read_parquet($file, hive_partitioning = false)"
            kinds = con.execute(f"describe select * from {source}", {"file": str(path)}).fetchall()
            for column, kind, *_ in kinds:
                if kind == "VARCHAR":
                    cells = con.execute(
                        f'select "{column}" from {source} where "{column}" is not null',
                        {"file": str(path)},
                    ).fetchall()
                    text += "\n" + "\n".join(cell for (cell,) in cells)
        texts[str(path.relative_to(exchange))] = text
    return texts


@pytest.fixture(scope="module")
def exchanged(tmp_path_factory):
    """Night 2 of 300 loans exported to 3 partitions and computed, before the merge removes
    the folder: its inputs, the staged rows and the partitions' results."""
    root = tmp_path_factory.mktemp("exchange")
    landing = root / "landing"
    generate_landing(landing, START, 2, loans=300, seed=7)
    strategy = load_strategy(DEFAULTS_DIR / "strategy.yaml", "cn")
    aging = load_aging_config()
    with warehouse.opened(root / "arrears.duckdb") as con:
        ingest.ingest(con, START, landing)
        build_aging(con, START, aging)
        decide(con, START, strategy, TIMEZONE)
        state.build(con, START, state.previous_snapshot(con, START))
        commit.commit(con, START)
        night = START + timedelta(days=1)
        ingest.ingest(con, night, landing)
        exchange = root / "partitions" / night.isoformat()
        plans = partition.export_partitions(con, night, 3, exchange)
        for plan in plans:
            partition.compute_partition(plan, aging, strategy, TIMEZONE)
    return {"folder": exchange, "values": personal_values(landing)}


def test_the_scan_would_see_the_customers(exchanged, tmp_path):
    values = exchanged["values"]
    for field in ("full_name", "national_id", "phone", "email", "address"):
        assert len(values[field]) >= 100, field
    # the customers' values, written as the exchange writes a table, are found
    clear = tmp_path / "clear"
    clear.mkdir()
    con = duckdb.connect()
    landed = (exchanged["folder"].parents[1] / "landing").glob("*/customers.csv")
    con.execute(
        "copy (select * from read_csv($files, all_varchar = true)) "
        f"to '{clear / 'customers.parquet'}' (format parquet)",
        {"files": [str(p) for p in landed]},
    )
    hits = PersonalScanner(values).find("\n".join(exchange_texts(clear).values()))
    assert {"full_name", "national_id", "phone", "email", "address"} <= hits.keys()


def test_the_exchange_carries_the_staged_rows_instead(exchanged):
    # every customer's stg_customers row, and fingerprints for those contact data concern
    con = duckdb.connect()
    rows = {}
    for name in partition.STAGED:
        files = (exchanged["folder"] / "inputs" / f"work.{name}").rglob("*.parquet")
        query = f"select count(*) from {partition.READ}"
        rows[name] = con.execute(query, {"files": [str(f) for f in files]}).fetchall()[0][0]
    assert rows["stg_customers"] >= 100
    assert rows["stg_customer_fingerprints"] > 0


def test_no_clear_personal_value_in_the_exchange_folder(exchanged):
    texts = exchange_texts(exchanged["folder"])
    assert any("results" in name for name in texts) and any("inputs" in name for name in texts)
    scanner = PersonalScanner(exchanged["values"])
    leaks = {name: hits for name, text in texts.items() if (hits := scanner.find(text))}
    assert leaks == {}


def test_only_the_staged_models_read_the_personal_columns():
    # What the registry parses, not what the staged models' comments say.
    for targets in (partition.MODELS, (*partition.MODELS, FEATURE_MODEL)):
        partition._check_history(targets)
        readers = {
            m.name for m in registry.plan(targets, scope="customer") if "work.customers" in m.reads
        }
        # each staged model reads them; any other reader reads no personal column (checked)
        assert set(partition.STAGED) <= readers


def test_a_customer_model_reading_a_personal_column_is_refused(monkeypatch):
    known = dict(registry.models())
    known["stg_customer_greeting"] = registry.Model(
        "stg_customer_greeting",
        "staging",
        "table",
        "customer",
        frozenset({"work.customers"}),
        columns=frozenset({"customer_id", "full_name"}),
    )
    monkeypatch.setattr(registry, "models", lambda: known)
    with pytest.raises(ArrearsError, match=r"stg_customer_greeting.sql reads full_name"):
        partition._check_history((*partition.MODELS, "stg_customer_greeting"))
    # a star over the customers reads them all
    known["stg_customer_greeting"] = registry.Model(
        "stg_customer_greeting",
        "staging",
        "view",
        "customer",
        frozenset({"work.customers"}),
        columns=frozenset({"work.customers.*"}),
    )
    with pytest.raises(ArrearsError, match=r"reads .*phone.* of work.customers"):
        partition._check_history((*partition.MODELS, "stg_customer_greeting"))
