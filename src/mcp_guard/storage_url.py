"""Storage URLs: take mcp-guard's own options out before a driver sees them, and show them without secrets.

Drivers refuse query options they do not know (`psycopg` rejects `?schema=`) and pass the rest on, so
options that belong to mcp-guard (`prefix` for Redis keys, `schema` for PostgreSQL tables) are split off
here. `shown_url` is the form for logs and errors: scheme, host, port and path, never a password.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def split_options(url: str, names: Collection[str]) -> tuple[str, dict[str, str]]:
    """`url` without the query options in `names`, and those options (the last value of each wins)."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    ours = {name: value for name, value in pairs if name in names}
    rest = urlencode([(name, value) for name, value in pairs if name not in names])
    return urlunsplit(parts._replace(query=rest)), ours


def shown_url(url: str) -> str:
    """`scheme://host:port/path` of `url`: what logs and error messages may show."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: show nothing rather than fail while reporting another error
        port = ""
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname or ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
