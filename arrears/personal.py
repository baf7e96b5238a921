"""Personal data wherever it turns up: the patterns of phone numbers and national ids, and
keeping them out of messages, logs and the ops and quality tables.

The contract says which columns are personal (arrears.contract). A source can still put a
phone number or an id number anywhere (a national id typed into loans.branch, two columns of
customers.csv swapped), so what the pipeline echoes (example keys and values in rejections,
quarantine rows, warnings) is also masked where it looks like one, and a warning suite counts
such values in the text columns that should never hold them (docs/quality.md).

One pattern per kind, written once for RE2 (DuckDB) and Python `re`, which read these the same.
"""

from __future__ import annotations

import re

# Mainland mobile (optionally +86) and E.164; as in the contract's phone rule, unanchored.
PHONE = r"(\+86)?1[3-9][0-9]{9}|\+[1-9][0-9]{6,14}"
# Resident identity card (GB 11643): area, birth date, sequence, check digit; US SSN.
NATIONAL_ID = (
    r"[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"
    r"|[0-9]{3}-[0-9]{2}-[0-9]{4}"
)
# Either, standing alone: not inside a longer number (an amount, a long id).
_CORE = f"({PHONE}|{NATIONAL_ID})"
SQL_PATTERN = f"(^|[^0-9]){_CORE}([^0-9]|$)"
_PYTHON = re.compile(f"(?<![0-9]){_CORE}(?![0-9])")
# What an engine's error message quotes: '...' or "...".
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")

WITHHELD = "<personal data withheld>"


def looks_personal_sql(value: str) -> str:
    """SQL predicate: the text `value` holds something that looks like a phone number or id."""
    return f"regexp_matches({value}, '{SQL_PATTERN}')"


def masked_sql(value: str) -> str:
    """SQL: `value` as text, or the withheld marker when it looks like personal data."""
    text = f"cast({value} as varchar)"
    return f"(case when {looks_personal_sql(text)} then '{WITHHELD}' else {text} end)"


def mask(text: str) -> str:
    """`text` with every phone number or id number in it replaced by the withheld marker."""
    return _PYTHON.sub(WITHHELD, text)


def unquoted(message: str) -> str:
    """An engine's error message without what it quotes (values, lines of the file)."""
    return _QUOTED.sub("'...'", message)
