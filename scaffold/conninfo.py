"""Masking the secrets of a PostgreSQL connection string in every message scaffold prints.

libpq accepts two forms, and a password can hide in several places of each:

* a URL: ``postgresql://user:SECRET@host/db`` (userinfo) and
  ``postgresql://host/db?password=SECRET`` (query parameters, also ``sslpassword``);
* key/value: ``host=db password=SECRET`` or ``password='SE CRET'`` (quoted, with ``\\'``
  escapes).

and ``PGPASSWORD`` / ``PGSSLPASSWORD`` in the environment feed the same connection. A
message names the connection with :func:`redact` and passes any driver text through
:func:`mask`, which replaces every secret found (raw and percent-decoded) with ``***``.
When the string is malformed, libpq quotes fragments of it in its error ("missing "=" after
"RET""); :func:`mask` then drops every quoted fragment, because a fragment may be part of a
password that could not be told apart.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote

__all__ = ["SECRET_KEYS", "secrets_in", "redact", "mask", "is_url", "conninfo_from"]

SECRET_KEYS = frozenset({"password", "sslpassword"})
SECRET_ENV = ("PGPASSWORD", "PGSSLPASSWORD")
MASK = "***"
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<rest>.*)$", re.S)
# key = value pairs; a secret's unquoted value runs to the next "key=" (so "password=SE CRET"
# is masked whole, although libpq itself would reject it).
_KV = re.compile(
    r"(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*"
    r"(?P<value>'(?:\\.|[^'\\])*'?|.*?(?=\s+[A-Za-z_][A-Za-z0-9_]*\s*=|\s*$))",
    re.S,
)
_QUOTED = re.compile(r'"[^"]*"')


def is_url(conninfo: str) -> bool:
    return bool(_URL.match(conninfo.strip()))


def conninfo_from(params: Iterable[tuple[str, object]]) -> str:
    """A key/value connection string of ``(key, value)`` pairs (None and empty values left
    out), each value quoted as libpq reads it, so :func:`mask` finds its secrets: how a
    caller holding parameters rather than a string (Django's ``DATABASES``) masks its
    messages."""
    pairs = []
    for key, value in params:
        if value is None or value == "":
            continue
        quoted = str(value).replace("\\", "\\\\").replace("'", "\\'")
        pairs.append(f"{key}='{quoted}'")
    return " ".join(pairs)


def _is_secret_key(key: str) -> bool:
    key = key.lower()
    return key in SECRET_KEYS or "password" in key or "secret" in key or "token" in key


def _url_parts(conninfo: str, *, last_at: bool = False) -> tuple[str, str, str, str] | None:
    """``(scheme, userinfo, hostpath, query)`` of a URL; userinfo ends at the last ``@``
    before the query (a raw ``@`` or ``/`` in a password stays inside it), or at the last
    ``@`` of all when none comes before the first ``?`` (a raw ``?`` in a password) or when
    ``last_at``."""
    match = _URL.match(conninfo.strip())
    if match is None:
        return None
    rest = match["rest"]
    at = -1 if last_at else rest.partition("?")[0].rfind("@")
    if at < 0:
        at = rest.rfind("@")
    userinfo, tail = (rest[:at], rest[at + 1 :]) if at >= 0 else ("", rest)
    hostpath, _, query = tail.partition("?")
    return match["scheme"], userinfo, hostpath, query


def secrets_in(conninfo: str) -> list[str]:
    """Every secret value in ``conninfo`` (and in the PG*PASSWORD environment), raw and
    percent-decoded, longest first. A URL is read both ways its userinfo can end (before
    the query, or at the last ``@``), so a raw ``?`` or ``@`` in a password hides nothing."""
    found: set[str] = set()
    parses = [p for p in (_url_parts(conninfo), _url_parts(conninfo, last_at=True)) if p is not None]
    if parses:
        for _, userinfo, _, query in dict.fromkeys(parses):
            if ":" in userinfo:
                password = userinfo.split(":", 1)[1]
                # libpq ends the userinfo at the first "@": with a raw "@" in the password,
                # the pieces after it show up in host names of its messages
                found.update([password, *password.split("@")])
            for raw in query.split("&"):
                key, sep, value = raw.partition("=")
                if sep and _is_secret_key(unquote(key)):
                    found.add(value)
            for key, value in parse_qsl(query, keep_blank_values=True):
                if _is_secret_key(key):
                    found.add(value)
    else:
        for m in _KV.finditer(conninfo):
            if _is_secret_key(m["key"]):
                value = m["value"]
                found.add(value)
                if value.startswith("'"):
                    inner = value[1:-1] if value.endswith("'") and len(value) > 1 else value[1:]
                    found.add(inner)
                    found.add(re.sub(r"\\(.)", r"\1", inner))
                else:  # malformed "password=SE CRET": libpq may quote either piece
                    found.update(value.split())
    for name in SECRET_ENV:
        if os.environ.get(name):
            found.add(os.environ[name])
    found |= {unquote(s) for s in found}
    return sorted((s for s in found if s), key=len, reverse=True)


def redact(conninfo: str) -> str:
    """``conninfo`` with every secret replaced by ``***`` (safe to print)."""
    parts = _url_parts(conninfo)
    if parts is not None:
        scheme, userinfo, hostpath, query = parts
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":" + MASK
        pairs = []
        for raw in query.split("&") if query else []:
            key, sep, _ = raw.partition("=")
            pairs.append(f"{key}={MASK}" if sep and _is_secret_key(unquote(key)) else raw)
        out = scheme + (f"{userinfo}@" if userinfo else "") + hostpath
        return mask(out + ("?" + "&".join(pairs) if query else ""), conninfo, quoted=False)

    def one(m: re.Match[str]) -> str:
        return f"{m['key']}={MASK}" if _is_secret_key(m["key"]) else m.group(0)

    return mask(_KV.sub(one, conninfo), conninfo, quoted=False)


def _parses(conninfo: str) -> bool:
    try:
        from psycopg.conninfo import conninfo_to_dict

        conninfo_to_dict(conninfo)
    except Exception:  # noqa: BLE001 - any parse failure: treat as malformed
        return False
    return True


def mask(text: str, conninfo: str, *, quoted: bool = True) -> str:
    """``text`` (a driver's error message, say) with every secret of ``conninfo`` masked.

    With ``quoted`` and a ``conninfo`` libpq cannot parse, every ``"..."`` fragment is
    masked too: libpq quotes pieces of the malformed string, which may hold a password."""
    for secret in secrets_in(conninfo):
        text = text.replace(secret, MASK)
    if quoted and not _parses(conninfo):
        text = _QUOTED.sub(f'"{MASK}"', text)
    return text
