"""What each contract type accepts: one rule per type, from which both readers' SQL is written.

A value is accepted when it converts exactly; what would be lost or ambiguous is refused.
Amounts are parsed to 6 decimals and must equal their value to the cent ('12.345' is refused,
'1e3' is 1000.00); integers must be whole ('1.5' is refused, where a cast would round it);
dates are YYYY-MM-DD with a four-digit year ('16/05/2025' and '25-05-01' are refused);
timestamps must carry an offset, since a timestamp without one is ambiguous for contact
windows; booleans come from a fixed set; text holds no control character (NUL, ESC, ...: a
NUL in an address truncates it in C-based readers of the outbox files), tab and line breaks
apart.

A rule is three steps. `read_as` is what DuckDB's typed CSV reader parses the field as (it
fails the pass on what it cannot parse); `from_text` does the same to staged text, giving NULL
where the reader would fail; `typed` takes a `read_as` value to the contract type, NULL where
the value is refused. The fast pass is reader + `typed` with an error where `typed` gives NULL
(`checked`); the careful pass is `from_text` + `typed` (`parsed`). So both accept exactly the
same values (tests/test_ingest.py checks this value by value).

One rule is decided per file in the fast pass: a control character in text. In any
ASCII-compatible encoding (UTF-8, GB18030, GBK, ...) its bytes are those characters and
nothing else, so the bytes read for the checksum settle it for every value at once
(`control_bytes_in`); a file that has any goes to the careful pass, which names the rows. A
regex over every text value of the fast pass would cost about as much as reading the file.

Enumerations (loans.status, holds.kind, ...) are text here: a value outside the contract's set
is a row-level quality rule, quarantined (expectations/), not a reason to refuse the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from arrears.contract import MONEY, Column, ColumnType, Dataset

EXACT = "DECIMAL(18,6)"
DATE_FORMAT = "%Y-%m-%d"
_FIRST_DATE = "1000-01-01"
_BOOLEANS = "('true', 'false', 't', 'f', '1', '0')"
# Control characters refused in text: C0 but tab, LF and CR, and DEL; one list, from which come
# the SQL character class and the bytes the fast pass looks for.
_CONTROL = (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)
CONTROL_BYTES = bytes(_CONTROL)
_CONTROL_CLASS = "[" + "".join(f"\\x{code:02x}" for code in _CONTROL) + "]"
_TIMESTAMP = r"\s*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)\s*"


def literal(text: str) -> str:
    """SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def quote(identifier: str) -> str:
    """SQL identifier, quoted."""
    return '"' + identifier.replace('"', '""') + '"'


def _same(sql: str) -> str:
    return sql


@dataclass(frozen=True)
class Acceptance:
    """How one contract type is read, and which values it accepts."""

    type: ColumnType
    read_as: str
    # SQL: a `read_as` value -> the contract type, NULL where the value is refused.
    typed: Callable[[str], str]
    # What a refused value is not ("not an integer"); None: every value is accepted.
    refusal: str | None = None
    # SQL: staged text -> `read_as` as the typed reader parses it, NULL where it could not.
    from_text: Callable[[str], str] = _same
    # The fast pass decides the rule for the whole file (control_bytes_in), not per value.
    per_file: bool = False
    # Text is trimmed and an empty value is missing; typed values are parsed as they are (the
    # parsers ignore surrounding blanks, and the CSV reader already gives NULL for an empty
    # field): trimming 14M values costs a second pass.
    blank_is_missing: bool = False

    def staged(self, text: str) -> str:
        """SQL: the staged text as the checks see it (missing where NULL)."""
        return f"nullif(trim({text}), '')" if self.blank_is_missing else text

    def parsed(self, text: str) -> str:
        """SQL for the careful pass: staged text as the contract type, NULL where refused."""
        return self.typed(self.from_text(self.staged(text)))

    def refused(self, text: str) -> str | None:
        """SQL predicate over staged text: a value is present and refused."""
        if self.refusal is None:
            return None
        return f"({self.staged(text)} is not null and {self.parsed(text)} is null)"

    def checked(self, value: str, column: str) -> str:
        """SQL for the fast pass: the typed reader's value as the contract type, raising where
        `parsed` gives NULL. The error only aborts the pass; the careful pass then finds and
        reports every bad row. A `per_file` rule is left to the file's bytes."""
        present = self.staged(value)
        if self.per_file:
            return present
        if self.refusal is None:
            return self.typed(present)
        fail = f"error({literal(f'{column}: {self.refusal}')})"
        return (
            f"(case when {present} is null then null "
            f"else coalesce({self.typed(present)}, {fail}) end)"
        )


def _text(v: str) -> str:
    return f"(case when not regexp_matches({v}, '{_CONTROL_CLASS}') then {v} end)"


def control_bytes_in(chunk: bytes) -> bool:
    """Whether a chunk of a landing file holds a control character refused in text."""
    return len(chunk.translate(None, CONTROL_BYTES)) != len(chunk)


def _cents(v: str) -> str:
    return f"(case when {v} = round({v}, 2) then cast({v} as {MONEY}) end)"


def _whole(v: str) -> str:
    return f"(case when {v} = trunc({v}) then try_cast({v} as INTEGER) end)"


def _calendar(v: str) -> str:
    return f"(case when {v} >= date '{_FIRST_DATE}' then {v} end)"


def _boolean(v: str) -> str:
    word = f"lower(trim({v}))"
    return f"(case when {word} in {_BOOLEANS} then cast({word} as BOOLEAN) end)"


def _with_offset(v: str) -> str:
    return (
        f"(case when regexp_full_match({v}, '{_TIMESTAMP}') then try_cast({v} as TIMESTAMPTZ) end)"
    )


def _exact(text: str) -> str:
    return f"try_cast({text} as {EXACT})"


def _date(text: str) -> str:
    return f"cast(try_strptime({text}, '{DATE_FORMAT}') as DATE)"


RULES: dict[str, Acceptance] = {
    rule.type: rule
    for rule in (
        Acceptance(
            "string",
            "VARCHAR",
            _text,
            "control character in text",
            blank_is_missing=True,
            per_file=True,
        ),
        Acceptance(
            "decimal", EXACT, _cents, "not an amount with at most 2 decimals", from_text=_exact
        ),
        Acceptance("integer", EXACT, _whole, "not an integer", from_text=_exact),
        Acceptance("date", "DATE", _calendar, "not a date (YYYY-MM-DD)", from_text=_date),
        Acceptance("boolean", "VARCHAR", _boolean, "not a boolean (true/false)"),
        Acceptance("timestamp", "VARCHAR", _with_offset, "not an ISO 8601 timestamp with offset"),
    )
}


def rule_of(column: Column) -> Acceptance:
    return RULES[column.type]


def typed_reader(path: str, columns: str) -> str:
    """SQL: DuckDB's typed CSV reader over `path` with `columns` ('name': 'TYPE', ...)."""
    return (
        f"read_csv({path}, header = true, columns = {{{columns}}}, auto_detect = false, "
        "delim = ',', quote = '\"', escape = '\"', strict_mode = true, "
        f"null_padding = false, dateformat = '{DATE_FORMAT}')"
    )


def typed_select(
    dataset: Dataset, present: set[str], value: Callable[[Column], str]
) -> tuple[str, dict[str, object]]:
    """The select list of `work.<dataset>`: each contract column typed, defaults filled in.

    `present`: the contract columns the file has; `value`: SQL of one of them, typed.
    """
    params: dict[str, object] = {}
    select = []
    for i, column in enumerate(dataset.columns):
        typed = value(column) if column.name in present else "null"
        if column.default is not None:
            params[f"default_{i}"] = column.default
            typed = f"coalesce({typed}, cast($default_{i} as {column.sql_type}))"
        select.append(f"cast({typed} as {column.sql_type}) as {column.name}")
    return ", ".join(select), params
