"""Shared helpers for the suites: every expectation carries its rule name in `meta`.

meta keys read by arrears.quality.validator:
  rule           short, stable name recorded in quality.quarantine and quality.runs
  value          column (or SQL expression over the batch) recorded as the offending value;
                 left out when the value is personal data
  dataset_level  true when the check is about the whole dataset, so no row can be quarantined
"""

from __future__ import annotations

from typing import Any

from arrears.contract import DATASETS
from arrears.personal import SQL_PATTERN


def meta(rule: str, value: str | None = None, *, dataset_level: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"rule": rule}
    if value is not None:
        out["value"] = value
    if dataset_level:
        out["dataset_level"] = True
    return out


def column_value(dataset: str, column: str) -> str | None:
    """The column to record as the offending value, or None when it holds personal data."""
    return None if DATASETS[dataset].column(column).personal else column


def not_null(dataset: str, *columns: str) -> list[Any]:
    import great_expectations as gx

    return [
        gx.expectations.ExpectColumnValuesToNotBeNull(
            column=column, meta=meta(f"{column} is missing")
        )
        for column in columns
    ]


def non_negative(dataset: str, *columns: str) -> list[Any]:
    import great_expectations as gx

    return [
        gx.expectations.ExpectColumnValuesToBeBetween(
            column=column, min_value=0, meta=meta(f"{column} is negative", column)
        )
        for column in columns
    ]


def in_enum(dataset: str, column: str) -> Any:
    import great_expectations as gx

    values = DATASETS[dataset].column(column).enum
    if values is None:
        raise ValueError(f"{dataset}.{column} has no enum in the contract")
    return gx.expectations.ExpectColumnValuesToBeInSet(
        column=column, value_set=list(values), meta=meta(f"{column} not a known value", column)
    )


def unique_key(dataset: str) -> Any:
    """The contract key is unique within the snapshot.

    Grouped on the key columns, then the rows of the duplicated keys picked out: GX's
    ExpectColumnValuesToBeUnique and a window over whole rows both cost several times more
    (a window buffers every column of the batch: seconds at 12M installments). A missing
    single-column key is left to its not-null rule, as ExpectColumnValuesToBeUnique does; in a
    compound key nulls compare equal, as in the file.
    """
    import great_expectations as gx

    key = DATASETS[dataset].key
    columns = ", ".join(key)
    if len(key) == 1:
        (column,) = key
        return gx.expectations.UnexpectedRowsExpectation(
            unexpected_rows_query=(
                "select b.* from {batch} b semi join "
                f"(select {column} from {{batch}} where {column} is not null "
                f"group by {column} having count(*) > 1) d on b.{column} = d.{column}"
            ),
            meta=meta(f"{column} duplicated", column),
        )
    matches = " and ".join(f"b.{c} is not distinct from d.{c}" for c in key)
    return gx.expectations.UnexpectedRowsExpectation(
        unexpected_rows_query=(
            "select b.* from {batch} b semi join "
            f"(select {columns} from {{batch}} group by {columns} having count(*) > 1) d "
            f"on {matches}"
        ),
        meta=meta(f"({columns}) duplicated"),
    )


def references(
    dataset: str, column: str, parent: str, parent_column: str, rule: str | None = None
) -> Any:
    """Every non-null `column` exists in work.<parent> (GX has no foreign-key expectation)."""
    import great_expectations as gx

    return gx.expectations.UnexpectedRowsExpectation(
        unexpected_rows_query=(
            "select b.* from {batch} b "
            f"left join work.{parent} p on p.{parent_column} = b.{column} "
            "and p.snapshot_date = b.snapshot_date "
            f"where b.{column} is not null and p.{parent_column} is null"
        ),
        meta=meta(rule or f"{column} not in {parent}", column_value(dataset, column)),
    )


def free_text_columns(dataset: str) -> list[str]:
    """The text columns nothing else constrains: not personal, no enumeration, and not a
    reference to another dataset's key (a phone there fails that dataset's own check, or the
    reference)."""
    owners = {d.key[0]: d.name for d in DATASETS.values() if len(d.key) == 1}
    return [
        c.name
        for c in DATASETS[dataset].columns
        if c.type == "string"
        and not c.personal
        and c.enum is None
        and owners.get(c.name, dataset) == dataset
    ]


def no_personal_patterns(dataset: str) -> list[Any]:
    """Warnings: values that look like a phone number or a national id in a text column that
    should never hold one (a national id typed into loans.branch would reach the marts).

    Nothing is recorded but the column and the count, and the keys of the rows where the key
    is not the column itself (then its values are what must not be shown).
    """
    import great_expectations as gx

    key = DATASETS[dataset].key
    return [
        gx.expectations.ExpectColumnValuesToNotMatchRegex(
            column=column,
            regex=SQL_PATTERN,
            meta=meta(
                f"{column} looks like a phone number or national id",
                dataset_level=column in key,
            ),
        )
        for column in free_text_columns(dataset)
    ]


def suite(name: str, expectations: list[Any]) -> Any:
    import great_expectations as gx

    rules = [e.meta["rule"] for e in expectations]
    duplicated = {r for r in rules if rules.count(r) > 1}
    if duplicated:
        raise ValueError(f"{name}: rule names must be unique, repeated: {sorted(duplicated)}")
    return gx.ExpectationSuite(name=name, expectations=expectations)
