"""Rows behind a failed expectation, found in DuckDB; quarantine and its cascade.

The SQL that finds the offending rows is derived from the expectation's own configuration
(column, set, bounds, regex, or its unexpected_rows_query), so GX decides *whether* a rule
failed and the same rule, run in DuckDB, says *which* rows; the validator cross-checks the counts.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from arrears import sqlfiles
from arrears.contract import DATASETS
from arrears.personal import masked_sql

PENDING = "_quality_pending"

# Row-level types this module can turn into SQL; anything else is a dataset-level failure.
ROW_LEVEL_TYPES = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_be_unique",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "unexpected_rows_expectation",
    }
)


def batch_sql(table: str, date_column: str) -> str:
    """The batch GX validates, with DuckDB's rowid so rows can be removed exactly."""
    return f"(select rowid as _row_id, * from {table} where {date_column} = $batch_date)"


def rows_sql(table: str, date_column: str, config: Any) -> tuple[str, dict[str, Any]]:
    """A SELECT over the batch returning the rows `config` (an ExpectationConfiguration) rejects."""
    kind = config.type
    kwargs = config.kwargs
    base = batch_sql(table, date_column)
    params: dict[str, Any] = {}
    if kind == "unexpected_rows_expectation":
        return kwargs["unexpected_rows_query"].format(batch=base), params
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = kwargs["column_A"], kwargs["column_B"]
        op = ">=" if kwargs.get("or_equal") else ">"
        ignore = kwargs.get("ignore_row_if", "both_values_are_missing")
        missing = {
            "either_value_is_missing": f"{a} is not null and {b} is not null",
            "both_values_are_missing": f"({a} is not null or {b} is not null)",
            "neither": "true",
        }[ignore]
        return f"select * from {base} where {missing} and not coalesce({a} {op} {b}, false)", params
    column = kwargs["column"]
    if kind == "expect_column_values_to_not_be_null":
        predicate = f"{column} is null"
    elif kind == "expect_column_values_to_be_in_set":
        params["value_set"] = list(kwargs["value_set"])
        predicate = f"{column} is not null and not list_contains($value_set, {column})"
    elif kind == "expect_column_values_to_be_between":
        bounds = []
        if kwargs.get("min_value") is not None:
            params["min_value"] = kwargs["min_value"]
            bounds.append(f"{column} {'<=' if kwargs.get('strict_min') else '<'} $min_value")
        if kwargs.get("max_value") is not None:
            params["max_value"] = kwargs["max_value"]
            bounds.append(f"{column} {'>=' if kwargs.get('strict_max') else '>'} $max_value")
        predicate = f"{column} is not null and ({' or '.join(bounds)})"
    elif kind == "expect_column_values_to_match_regex":
        # GX compiles the regex to PostgreSQL's `~`: a search, not a full match.
        params["regex"] = kwargs["regex"]
        predicate = f"{column} is not null and not regexp_matches({column}, $regex)"
    elif kind == "expect_column_values_to_not_match_regex":
        params["regex"] = kwargs["regex"]
        predicate = f"{column} is not null and regexp_matches({column}, $regex)"
    elif kind == "expect_column_values_to_be_unique":
        predicate = (
            f"{column} in (select {column} from {base} group by {column} having count(*) > 1)"
        )
    else:
        raise ValueError(f"no row-level SQL for {kind}")
    return f"select * from {base} where {predicate}", params


# Keys of the validated tables that are not landing datasets.
OTHER_KEYS: dict[str, tuple[str, ...]] = {"collection_actions": ("action_id",)}


def key_sql(dataset: str, alias: str = "q") -> str:
    """The record key: the key columns joined with '|' (missing parts empty), withheld when it
    looks like a phone number or an id number (a source that swapped two columns)."""
    key = DATASETS[dataset].key if dataset in DATASETS else OTHER_KEYS[dataset]
    parts = [f"coalesce(cast({alias}.{c} as varchar), '')" for c in key]
    return masked_sql(f"concat_ws('|', {', '.join(parts)})")


def value_sql(dataset: str, value: str | None, alias: str = "q") -> str:
    """The offending value to record: never a personal-data column, nothing of a dataset
    holding personal data but its key, nothing that looks like a phone number or an id."""
    if value is None:
        return "cast(null as varchar)"
    if dataset in DATASETS:
        contract = DATASETS[dataset]
        if not contract.may_show(value) or (
            value in contract.column_names and contract.column(value).personal
        ):
            return "cast(null as varchar)"
    return masked_sql(f"{alias}.{value}")


def bind(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> Any:
    """Execute binding exactly the $parameters the statement uses."""
    return con.execute(sql, sqlfiles.bind(sql, params, where="quality check"))


def create_pending(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"create or replace temp table {PENDING} ("
        "dataset varchar, row_id bigint, record_key varchar, rule varchar, value varchar)"
    )


def add_rows(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    rule: str,
    value: str | None,
    sql: str,
    params: dict[str, Any],
) -> int:
    """Put the rows `sql` returns into the pending quarantine; returns how many."""
    before = _pending_count(con)
    bind(
        con,
        f"insert into {PENDING} select $dataset, q._row_id, {key_sql(dataset)}, $rule, "
        f"{value_sql(dataset, value)} from ({sql}) as q",
        {**params, "dataset": dataset, "rule": rule},
    )
    return _pending_count(con) - before


def examples(
    con: duckdb.DuckDBPyConnection, dataset: str, sql: str, params: dict[str, Any], limit: int = 5
) -> tuple[int, list[str]]:
    """How many rows `sql` returns, and the first few record keys."""
    row = bind(
        con,
        f"select count(*), coalesce(list({key_sql(dataset)} order by {key_sql(dataset)})"
        f"[1:{int(limit)}], []) from ({sql}) as q",
        params,
    ).fetchall()[0]
    return int(row[0]), list(row[1])


def _pending_count(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute(f"select count(*) from {PENDING}").fetchall()[0][0])


# (child dataset, child column, parent dataset, parent column, rule): a quarantined parent row
# takes these rows with it. A bad hold takes its customer (and so their loans): dropping the
# hold alone could get a protected customer contacted.
CASCADE: tuple[tuple[str, str, str, str, str], ...] = (
    ("customers", "customer_id", "holds", "customer_id", "hold quarantined"),
    ("loans", "customer_id", "customers", "customer_id", "customer quarantined"),
    ("installments", "loan_id", "loans", "loan_id", "loan quarantined"),
    ("arrangements", "loan_id", "loans", "loan_id", "loan quarantined"),
)


def cascade(con: duckdb.DuckDBPyConnection, snapshot_date: date, present: set[str]) -> None:
    for child, child_column, parent, parent_column, rule in CASCADE:
        if child not in present or parent not in present:
            continue
        con.execute(
            f"insert into {PENDING} "
            f"select distinct '{child}', q.rowid, {key_sql(child)}, $rule, cast(null as varchar) "
            f"from work.{child} as q "
            f"where q.snapshot_date = $snapshot_date and q.{child_column} in ("
            f"select p.{parent_column} from work.{parent} as p "
            f"where p.rowid in (select row_id from {PENDING} where dataset = '{parent}')) "
            f"and q.rowid not in (select row_id from {PENDING} where dataset = '{child}')",
            {"rule": rule, "snapshot_date": snapshot_date},
        )


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = con.execute(
        f"select dataset, count(distinct row_id) from {PENDING} group by dataset"
    ).fetchall()
    return {dataset: int(n) for dataset, n in rows}


def top_rule(con: duckdb.DuckDBPyConnection, dataset: str) -> tuple[str, list[str]]:
    """The rule that quarantined most rows of `dataset`, with example keys."""
    row = con.execute(
        f"select rule, list(record_key order by record_key)[1:5] from {PENDING} "
        "where dataset = $dataset group by rule order by count(*) desc, rule limit 1",
        {"dataset": dataset},
    ).fetchall()[0]
    return str(row[0]), list(row[1])


def persist(con: duckdb.DuckDBPyConnection, snapshot_date: date, run_id: str) -> None:
    """Record the pending rows in quality.quarantine."""
    con.execute(
        "insert into quality.quarantine by name "
        "select $snapshot_date as snapshot_date, $run_id as run_id, "
        "dataset, record_key, rule, value "
        f"from {PENDING} order by dataset, record_key, rule",
        {"snapshot_date": snapshot_date, "run_id": run_id},
    )


def remove(con: duckdb.DuckDBPyConnection) -> None:
    """Remove the pending rows from work.*. Not in persist's transaction: work.* may live in
    the scratch file (arrears.warehouse.attach_work), and a DuckDB transaction writes to one
    database only; a run stopped in between starts from an empty work schema again."""
    for dataset in counts(con):
        con.execute(
            f"delete from work.{dataset} where rowid in "
            f"(select row_id from {PENDING} where dataset = $dataset)",
            {"dataset": dataset},
        )


def drop_pending(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"drop table if exists {PENDING}")
