"""Credentials out of every message: connection strings parsed as libpq parses them.

libpq takes a connection string in two forms, and a password from the environment:

    postgresql://user:pass@host:5432/db?sslmode=require     (URL; password percent-encoded)
    host=h user=u password='p w\\'d' dbname=db              (key=value; quoted or not)
    PGPASSWORD=...                                          (the environment)

`dsn_secrets` finds the passwords of a configured string with libpq's own parser
(psycopg.conninfo.conninfo_to_dict), `describe_dsn` shows a string without them, and
`redact` removes them, and any other connection string's credentials, from free text: known
values wherever they occur (raw, percent-encoded, libpq-quoted), the user information of every
postgres URL, and the value of every password-like key=value. `redact_argv` does the same for the
arguments of a command line, where a password may also be the argument after `--password`.

Secrets met while settings are built are remembered for the life of the process (`remember`),
so an error message printed far from the settings is still cleaned.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any

MASK = "***"
# libpq's keywords that carry a secret.
SECRET_KEYS = ("password", "sslpassword")
# Environment variables libpq reads a password from, and the setting holding the DSN.
SECRET_ENV = ("PGPASSWORD", "PGSSLPASSWORD")
DSN_ENV = "ARREARS_POSTGRES"
# Shorter values are not masked wherever they occur: a one-letter "password" would blank every
# such letter of a message. Their key=value and URL forms are still masked.
MIN_SECRET_LENGTH = 3

_URL = re.compile(r"postgres(?:ql)?://[^\s'\"<>]*", re.IGNORECASE)
# A password-like key followed by '=' (or ':' in YAML-ish text), as libpq and shells write it.
_KEY = re.compile(r"(?i)\b([\w.-]*?(?:password|passwd|pwd|secret|token))(\s*[=:]\s*)")
_FLAG = re.compile(r"(?i)^--?[\w.-]*(?:password|passwd|pwd|secret|token)$")
_QUERY_SECRET = re.compile(r"(?i)([?&](?:ssl)?password=)[^&#]*")

_remembered: set[str] = set()


class DsnError(ValueError):
    """A connection string libpq would misread; the message never quotes it."""


def check_dsn(dsn: str) -> None:
    """Refuse a string libpq cannot parse, or a URL whose password is not percent-encoded.

    libpq ends a URL's user information at the first '/' and splits it at the first '@', so
    `postgresql://u:pa/ss@h/db` connects to host "u", port "pa", database "ss@h/db": the
    password would be spread over fields that messages do show.
    """
    if _URL.match(dsn.strip()):
        rest = dsn.strip().split("://", 1)[1]
        authority = re.split(r"[/?]", rest, maxsplit=1)[0]
        path = rest[len(authority) :].split("?", 1)[0]
        if authority.count("@") > 1 or "@" in path:
            raise DsnError(
                "the URL's user or password holds an unencoded '@' or '/': percent-encode them "
                "('@' as %40, '/' as %2F, ':' as %3A), or use the key=value form "
                "(password='...')"
            )
    if _parsed(dsn) is None:
        raise DsnError(
            "not a libpq connection string: use a URL (postgresql://user:password@host/db) "
            "or key=value pairs (host=... password='...'); quote values with spaces"
        ) from None


def dsn_secrets(dsn: str | None) -> set[str]:
    """The secret values of a connection string, as libpq reads them and as written."""
    if not dsn:
        return set()
    found: set[str] = set()
    parsed = _parsed(dsn) or {}
    found |= {str(parsed[k]) for k in SECRET_KEYS if parsed.get(k)}
    for url in _URL.findall(dsn):
        userinfo = _userinfo(url)
        if userinfo and ":" in userinfo:
            written = userinfo.split(":", 1)[1]
            found |= {written, urllib.parse.unquote(written)}
    return {value for value in found if value}


def remember(dsn: str | None) -> None:
    """Keep the secrets of `dsn` for every later `redact` in this process."""
    _remembered.update(dsn_secrets(dsn))


def known_secrets() -> set[str]:
    """What was remembered, and what the environment gives libpq and the settings."""
    found = set(_remembered)
    found |= {os.environ[name] for name in SECRET_ENV if os.environ.get(name)}
    found |= dsn_secrets(os.environ.get(DSN_ENV))
    return found


def describe_dsn(dsn: str) -> str:
    """The connection string without its secrets, in key=value form (for logs and ops.runs)."""
    parsed = _parsed(dsn)
    if parsed is None:
        return MASK
    shown = {k: v for k, v in parsed.items() if k not in SECRET_KEYS}
    text = _conninfo(shown)
    return f"{text} password={MASK}" if any(parsed.get(k) for k in SECRET_KEYS) else text


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without any credential: known secrets, URL user information, password values."""
    if not text:
        return text
    values = {s for s in (*secrets, *known_secrets()) if len(s) >= MIN_SECRET_LENGTH}
    for value in sorted(values, key=len, reverse=True):
        for form in _written_forms(value):
            text = text.replace(form, MASK)
    text = _URL.sub(lambda m: _mask_url(m.group(0)), text)
    return _mask_key_values(text)


def redact_argv(argv: Sequence[str], secrets: Iterable[str] = ()) -> list[str]:
    """A command line's arguments without credentials (one argument may hold a whole DSN)."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        if _FLAG.match(arg):
            hide_next = True
            out.append(arg)
            continue
        flag, eq, value = arg.partition("=")
        if eq and _FLAG.match(flag) and " " not in flag:
            # --password=a b c: everything after '=' is the value
            out.append(f"{flag}={MASK}")
            continue
        out.append(redact(_mask_conninfo(arg), secrets))
    return out


def _written_forms(value: str) -> set[str]:
    quoted = value.replace("\\", "\\\\").replace("'", "\\'")
    return {value, urllib.parse.quote(value, safe=""), urllib.parse.quote(value), quoted}


def _userinfo(url: str) -> str | None:
    rest = url.split("://", 1)[1]
    return rest.rsplit("@", 1)[0] if "@" in rest else None


def _mask_url(url: str) -> str:
    """The whole user information goes (up to the last '@': an unencoded '@' or '/' in the
    password must not end the mask early), and any password in the query."""
    scheme, rest = url.split("://", 1)
    if "@" in rest:
        rest = f"{MASK}@{rest.rsplit('@', 1)[1]}"
    return _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, f"{scheme}://{rest}")


def _mask_conninfo(arg: str) -> str:
    """A whole key=value connection string, re-made by libpq's rules without its secrets."""
    if "=" not in arg or _URL.match(arg):
        return arg
    parsed = _parsed(arg)
    if parsed is None or not any(k in parsed for k in SECRET_KEYS):
        return arg
    return _conninfo({k: (MASK if k in SECRET_KEYS else v) for k, v in parsed.items()})


# psycopg is imported when a connection string is first read, not with this module: every
# command imports it, and most never see a DSN (0.15 s of a command's start).
def _parsed(dsn: str) -> dict[str, Any] | None:
    """libpq's reading of a connection string; None when libpq refuses it."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        return conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return None


def _conninfo(values: dict[str, Any]) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo("", **values)


def _mask_key_values(text: str) -> str:
    """Blank the value after every password-like `key=`: a libpq-quoted value up to its
    closing quote (backslash escapes), else up to the next blank, as libpq reads it."""
    out: list[str] = []
    pos = 0
    for match in _KEY.finditer(text):
        if match.start() < pos:
            continue
        start = match.end()
        end = _value_end(text, start)
        if start == end or text.startswith(MASK, start):
            continue
        out.append(text[pos:start])
        out.append(MASK)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _value_end(text: str, start: int) -> int:
    if start < len(text) and text[start] == "'":
        i = start + 1
        while i < len(text):
            if text[i] == "\\":
                i += 2
                continue
            if text[i] == "'":
                return i + 1
            i += 1
        return len(text)
    i = start
    while i < len(text) and not text[i].isspace():
        i += 1
    return i
