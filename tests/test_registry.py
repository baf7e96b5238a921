"""The model registry: one file per relation, the order derived from the SQL, the layering rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from arrears import registry, warehouse
from arrears.aging import AGE_MODELS
from arrears.errors import ArrearsError
from arrears.partition import HISTORY, results
from arrears.registry import Model
from arrears.sqlfiles import bind, parameters, sql_root
from arrears.strategy.engine import OUTPUTS as DECIDE_MODELS

ROOT = Path(__file__).resolve().parents[1]
MODELS = (*AGE_MODELS, *DECIDE_MODELS)


def model(name, layer="intermediate", reads=(), upstream=()):
    return Model(name, layer, "table", "customer", frozenset(reads), frozenset(upstream))


def test_every_model_file_is_the_relation_it_builds() -> None:
    files = {
        path.stem: f"{path.parent.name}/{path.stem}"
        for layer in registry.LAYERS
        for path in (sql_root() / layer).glob("*.sql")
    }
    assert {name: m.path for name, m in registry.models().items()} == files
    assert all(m.relation == f"work.{m.name}" for m in registry.models().values())


def test_the_plan_builds_every_model_after_what_it_reads() -> None:
    steps = registry.plan(MODELS)
    position = {m.name: i for i, m in enumerate(steps)}
    for m in steps:
        assert all(position[up] < position[m.name] for up in m.upstream), m.name
    assert {"stg_loans", "int_loans__overdue", "int_actions__capacity"} <= set(position)


def test_a_later_step_does_not_rebuild_what_an_earlier_one_left() -> None:
    names = [m.name for m in registry.plan(DECIDE_MODELS, given=AGE_MODELS)]
    assert "loan_aging" not in names and "int_loans__overdue" not in names
    # ... but rebuilds the views it reads, which the earlier step dropped.
    assert "stg_installments" in names
    assert names[-2:] == ["collection_actions", "suppressed_actions"]


def test_only_staging_models_read_the_runs_sources() -> None:
    for m in registry.models().values():
        if m.layer == "staging":
            continue
        for relation in m.reads:
            schema, _, name = relation.partition(".")
            assert schema in ("work", "marts"), (m.name, relation)
            if schema == "work":
                assert name in registry.models() or name.startswith(registry.SEED_PREFIXES)


def test_a_model_reading_a_source_outside_staging_is_refused() -> None:
    bad = {"int_x": model("int_x", reads={"work.loans"})}
    with pytest.raises(ArrearsError, match="reads work.loans: only staging models"):
        registry._check(bad)
    registry._check({"stg_x": model("stg_x", layer="staging", reads={"raw.loans"})})


def test_models_that_read_each_other_in_a_cycle_are_refused() -> None:
    cycle = {
        "xa": model("xa", reads={"work.xb"}, upstream={"xb"}),
        "xb": model("xb", reads={"work.xa"}, upstream={"xa"}),
    }
    with pytest.raises(ArrearsError, match="cycle"):
        registry._check(cycle)


def test_the_partition_merges_exactly_what_book_models_read() -> None:
    assert results() == [
        "arrangement_status",
        "int_actions__decide",
        "int_candidates__decide",
        "loan_aging",
    ]
    customer = [m.name for m in registry.plan(MODELS, scope="customer")]
    assert registry.external_reads(customer) <= {table for table, _ in HISTORY}
    book = [m.name for m in registry.plan(MODELS, given=results())]
    assert all(registry.models()[n].scope == "book" for n in book)


def test_build_leaves_the_targets_and_drops_scratch_when_asked() -> None:
    from arrears.aging import load_aging_config, register_config

    con = warehouse.connect(":memory:")
    for dataset in ("loans", "installments"):
        con.execute(warehouse.work_table_ddl(dataset))
    config = load_aging_config()
    register_config(con, config)
    counts = registry.build(
        con,
        AGE_MODELS,
        {
            "snapshot_date": date(2025, 6, 30),
            "previous_snapshot_date": None,
            "previous_aging_date": None,
            "tolerance": config.tolerance,
        },
        keep_scratch=False,
    )
    assert set(counts) == set(AGE_MODELS) and counts["loan_aging"] == 0
    left = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'work'"
        ).fetchall()
    }
    assert {"loan_aging", "kpi_daily", "roll_rates"} <= left
    assert not {"int_loans__overdue", "stg_loans", "int_installments__unpaid"} & left


def test_parameters_in_comments_and_strings_are_not_bound() -> None:
    query = "-- uses $nothing\nselect $snapshot_date, '$literal', 'it''s $x' as t where $a_b = 1"
    assert parameters(query) == {"snapshot_date", "a_b"}
    assert bind(query, {"snapshot_date": 1, "a_b": 2, "unused": 3}) == {
        "snapshot_date": 1,
        "a_b": 2,
    }
    with pytest.raises(ArrearsError, match="needs the parameters a_b"):
        bind(query, {"snapshot_date": 1}, where="q")


def test_the_columns_a_model_refers_to_are_parsed() -> None:
    # the staging model that reads the customers file selects it whole in a CTE
    customers = registry.models()["stg_customers"]
    assert {"phone", "email", "address", "work.customers.*"} <= customers.columns
    assert "work.customers.*" not in registry.models()["int_customers__decide"].columns
    con = duckdb.connect()
    cases = {
        "select customer_id from work.customers -- phone": {"customer_id"},
        "select c.customer_id, trim(c.phone) as p from work.customers as c": {
            "customer_id",
            "phone",
        },
        "select * exclude (phone) from work.customers": {"work.customers.*"},
        "select to_json(c) from work.customers as c": {"c", "work.customers.*"},
        "select l.loan_id from work.loans as l join work.customers using (customer_id)": {
            "loan_id",
            "customer_id",
        },
        "select n from (select count(*) as n from work.customers)": {"n"},
    }
    for query, columns in cases.items():
        assert registry._parsed(con, "q", query)[1] == columns, query


def test_the_architecture_doc_shows_the_graph_the_registry_derives() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split("<!-- models:begin -->")[1].split("<!-- models:end -->")[0]
    lines = [line for line in block.strip().strip("`").strip().splitlines() if line]
    assert lines == registry.graph_lines(), "regenerate: python -m arrears.registry"
