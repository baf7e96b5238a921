"""The model registry: every SQL model, what it reads, and the order a step builds them in.

A model is one file `sql/<layer>/<name>.sql` holding one SELECT; it builds the relation
`work.<name>`. Its first line declares, once, how it is built:

    -- config: materialized=view|table, scope=customer|book

- materialized: a view is streamed into its readers (the installment grain is never written);
  a table is written once and read by several models. Views cannot bind `$parameters`.
- scope: `customer` models compute each customer from that customer's rows alone, so a
  partitioned run computes them per partition; `book` models span customers (portfolio
  aggregates, the capacity ranking) and run once over the merged partitions.
- A marts model builds work.<name> with the exact columns and types of marts.<name>, which the
  commit then replaces partition by partition.

What a model reads is parsed from its SQL by DuckDB's own parser (json_serialize_sql), not
declared by hand, and the run order of a step is the topological order of that graph. Only
staging models read the run's sources (raw.* and the landed work.<dataset> tables); other
layers read models, the configuration seeds (work.cfg_*, work.strategy_*) and the committed
history in marts.*. docs/architecture.md shows the graph as this module derives it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from graphlib import CycleError, TopologicalSorter
from typing import Any

import duckdb

from arrears import warehouse
from arrears.errors import ArrearsError
from arrears.sqlfiles import bind, parameters, sql_root, sql_text

LAYERS = ("staging", "intermediate", "marts")
MATERIALIZATIONS = ("view", "table")
SCOPES = ("customer", "book")
# Tables Python writes from configuration before a step runs (dbt would call them seeds), and
# the allocation step's results (work.alloc_*, arrears/allocation).
SEED_PREFIXES = ("cfg_", "strategy_", "alloc_")


@dataclass(frozen=True)
class Model:
    name: str
    layer: str
    materialized: str
    scope: str
    reads: frozenset[str]  # qualified relations: "work.stg_loans", "marts.loan_aging"
    upstream: frozenset[str] = frozenset()  # the models among them (names, without schema)
    # The column names it refers to, of any relation, and "<relation>.*" for a star over a
    # table it reads (which reads all its columns).
    columns: frozenset[str] = frozenset()

    @property
    def relation(self) -> str:
        return f"work.{self.name}"

    @property
    def path(self) -> str:
        return f"{self.layer}/{self.name}"


def _config(name: str, text: str) -> dict[str, str]:
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if not first.startswith("-- config:"):
        raise ArrearsError(
            f"sql/{name}.sql: the first line must declare the model, e.g. "
            "'-- config: materialized=table, scope=customer'"
        )
    config = {}
    for item in first.removeprefix("-- config:").split(","):
        key, _, value = item.partition("=")
        config[key.strip()] = value.strip()
    return config


def _parsed(
    con: duckdb.DuckDBPyConnection, name: str, text: str
) -> tuple[frozenset[str], frozenset[str]]:
    """Every schema-qualified table the statement reads, and every column name it refers to,
    by DuckDB's parser."""
    tree = json.loads(con.execute("select json_serialize_sql($q)", {"q": text}).fetchall()[0][0])
    if tree.get("error"):
        raise ArrearsError(f"sql/{name}.sql does not parse: {tree.get('error_message')}")
    relations: set[str] = set()
    columns: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "BASE_TABLE" and node.get("schema_name"):
                relations.add(f"{node['schema_name']}.{node['table_name']}")
            elif node.get("class") == "COLUMN_REF":
                columns.add(node["column_names"][-1])
            elif node.get("type") == "SELECT_NODE":
                columns.update(_stars(node))
            columns.update(node.get("using_columns") or ())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree)
    return frozenset(relations), frozenset(columns)


def _stars(select: dict[str, Any]) -> set[str]:
    """`<schema>.<table>.*` for each table of a SELECT's FROM whose every column it selects: by
    a star, or by the table's name as a value (a whole row, e.g. to_json(customers))."""
    tables: list[dict[str, Any]] = []
    pending = [select.get("from_table")]
    while pending:
        node = pending.pop()
        if not isinstance(node, dict):
            continue
        if node.get("type") == "BASE_TABLE" and node.get("schema_name"):
            tables.append(node)
        elif node.get("type") == "JOIN":
            pending += [node.get("left"), node.get("right")]
    whole: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("class") == "STAR":
                whole.add(node.get("relation_name") or "")
            elif node.get("class") == "COLUMN_REF" and len(node["column_names"]) == 1:
                whole.add(node["column_names"][0])
            elif node.get("type") == "SELECT_NODE":
                return  # a subquery's own FROM: walked on its own
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(select.get("select_list"))
    return {
        f"{table['schema_name']}.{table['table_name']}.*"
        for table in tables
        if whole & {"", table.get("alias") or table["table_name"], table["table_name"]}
    }


@functools.cache
def models() -> dict[str, Model]:
    """All models by name, parsed once per process."""
    con = duckdb.connect(":memory:")
    try:
        found: dict[str, Model] = {}
        for layer in LAYERS:
            for path in sorted((sql_root() / layer).glob("*.sql")):
                name = path.stem
                text = path.read_text(encoding="utf-8")
                config = _config(f"{layer}/{name}", text)
                materialized = config.get("materialized", "")
                scope = config.get("scope", "")
                if materialized not in MATERIALIZATIONS or scope not in SCOPES:
                    raise ArrearsError(
                        f"sql/{layer}/{name}.sql: materialized must be one of "
                        f"{', '.join(MATERIALIZATIONS)} and scope one of {', '.join(SCOPES)}"
                    )
                if name in found:
                    raise ArrearsError(f"two models named {name}: one relation, one file")
                reads, columns = _parsed(con, f"{layer}/{name}", text)
                found[name] = Model(name, layer, materialized, scope, reads, columns=columns)
    finally:
        con.close()
    found = {
        name: replace(
            model,
            upstream=frozenset(
                r.removeprefix("work.")
                for r in model.reads
                if r.startswith("work.") and r.removeprefix("work.") in found
            ),
        )
        for name, model in found.items()
    }
    _check(found)
    return found


def _is_seed(relation: str) -> bool:
    schema, _, name = relation.partition(".")
    return schema == "work" and name.startswith(SEED_PREFIXES)


def _check(found: Mapping[str, Model]) -> None:
    """The layering rules, and a graph without cycles."""
    for model in found.values():
        for relation in sorted(model.reads):
            schema, _, name = relation.partition(".")
            if model.layer == "staging" or _is_seed(relation):
                continue
            if schema == "marts" or (schema == "work" and name in found):
                continue
            raise ArrearsError(
                f"sql/{model.path}.sql reads {relation}: only staging models read the run's "
                "sources (raw.* and the landed work tables); read a staging model instead"
            )
        if model.materialized == "view" and parameters(sql_text(model.path)):
            raise ArrearsError(
                f"sql/{model.path}.sql is a view but uses parameters: DuckDB binds none in a "
                "view; make it a table"
            )
    try:
        TopologicalSorter({m.name: m.upstream for m in found.values()}).prepare()
    except CycleError as exc:
        raise ArrearsError(f"the models read each other in a cycle: {exc.args[1]}") from None


def ancestors(targets: Iterable[str], given: Iterable[str] = ()) -> set[str]:
    """The targets and every model they need, not looking past the `given` models (which an
    earlier step built and left in work.*)."""
    known = models()
    stop = set(given)
    needed: set[str] = set()
    pending = [t for t in targets if t not in stop]
    while pending:
        name = pending.pop()
        if name not in known:
            raise ArrearsError(f"no model named {name} (sql/<layer>/{name}.sql)")
        if name in needed:
            continue
        needed.add(name)
        pending.extend(n for n in known[name].upstream if n not in stop)
    return needed


def plan(
    targets: Sequence[str], given: Iterable[str] = (), scope: str | None = None
) -> list[Model]:
    """The models to build for `targets`, in dependency order.

    scope="customer" keeps only customer-scoped models: what a partition computes. Book-scoped
    targets are then replaced by the customer-scoped models they read (see frontier()).
    """
    known = models()
    needed = ancestors(targets, given)
    if scope is not None:
        needed = {n for n in needed if known[n].scope == scope}
    return [known[n] for n in _ordered({n: known[n].upstream & needed for n in needed})]


def _ordered(graph: Mapping[str, frozenset[str]]) -> list[str]:
    """A topological order that is the same in every process: among the models ready to
    build, staging before intermediate before marts, then by name."""
    known = models()
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=lambda n: (LAYERS.index(known[n].layer), n))
        order.extend(ready)
        sorter.done(*ready)
    return order


def frontier(targets: Sequence[str], given: Iterable[str] = ()) -> list[str]:
    """The customer-scoped tables a partitioned run computes per partition and merges: the
    customer-scoped targets, and those that book-scoped models among the ancestors read."""
    known = models()
    needed = ancestors(targets, given)
    found = {t for t in targets if known[t].scope == "customer"}
    for name in needed:
        if known[name].scope == "book":
            found |= {
                n for n in known[name].upstream if n in needed and known[n].scope == "customer"
            }
    # A view is rebuilt where it is read; merging one would copy its whole source.
    return sorted(n for n in found if known[n].materialized == "table")


def external_reads(names: Iterable[str]) -> set[str]:
    """The relations outside work.* that the given models read: the history a partition needs."""
    known = models()
    return {r for n in names for r in known[n].reads if not r.startswith("work.")}


def build_model(
    con: duckdb.DuckDBPyConnection, model: Model, params: Mapping[str, Any] | None
) -> None:
    """Build one model into work.<name>, binding exactly the parameters it uses."""
    query = sql_text(model.path)
    if model.materialized == "view":
        query = warehouse.outside_work(con, query, model.reads)
        con.execute(f"create or replace view {model.relation} as {query}")
        return
    values = bind(query, params, where=f"sql/{model.path}.sql")
    if model.layer == "marts":
        # Marts models take the exact column types of their mart.
        con.execute(
            f"create or replace table {model.relation} as select * from marts.{model.name} limit 0"
        )
        con.execute(f"insert into {model.relation} by name {query}", values)
    else:
        con.execute(f"create or replace table {model.relation} as {query}", values)


def build(
    con: duckdb.DuckDBPyConnection,
    targets: Sequence[str],
    params: Mapping[str, Any] | None = None,
    *,
    given: Iterable[str] = (),
    scope: str | None = None,
    keep_scratch: bool = True,
) -> dict[str, int]:
    """Build `targets` and what they need into work.*; returns each target's row count.

    keep_scratch=False drops the models built on the way once the targets stand (their rows
    are at the loan grain: no reason to keep them for the rest of the run).
    """
    steps = plan(targets, given, scope)
    for model in steps:
        build_model(con, model, params)
    built = {m.name for m in steps}
    if not keep_scratch:
        for model in reversed(steps):
            if model.name not in targets:
                kind = "view" if model.materialized == "view" else "table"
                con.execute(f"drop {kind} if exists {model.relation}")
    return {
        t: int(con.execute(f"select count(*) from work.{t}").fetchall()[0][0])
        for t in targets
        if t in built
    }


def graph_lines() -> list[str]:
    """The graph as `layer/name (materialized, scope) <- reads` lines, in build order."""
    known = models()
    lines = []
    for name in _ordered({m.name: m.upstream for m in known.values()}):
        model = known[name]
        reads = (
            ", ".join(
                sorted(
                    r.removeprefix("work.") if r.removeprefix("work.") in known else r
                    for r in model.reads
                )
            )
            or "-"
        )
        lines.append(f"{model.path} ({model.materialized}, {model.scope}) <- {reads}")
    return lines


if __name__ == "__main__":
    # The graph block of docs/architecture.md: python -m arrears.registry
    print("\n".join(graph_lines()))
