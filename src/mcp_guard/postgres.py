"""What the PostgreSQL stores share: the URL form, connection defaults, and the schema their tables live in.

    postgresql://user:password@host:5432/dbname?schema=mcp_guard

`schema` (default `mcp_guard`) is mcp-guard's own option: the stores create it and their tables in it, so
one database can hold several deployments (or test runs) side by side. Every other option goes to libpq
unchanged (`sslmode=require`, `connect_timeout=10`, ...). Unless the URL sets them, connections time out
after 5 s and use TCP keepalives and a TCP user timeout, so a server that vanishes without closing the
connection (a cut network) is noticed in seconds, not after the kernel's default of many minutes.

Nothing here imports the driver: the store modules import `psycopg` themselves, and the scheme maps turn
a missing driver into a message naming the `postgres` extra.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .storage_url import shown_url, split_options

SCHEMES = ("postgresql", "postgres")
DEFAULT_SCHEMA = "mcp_guard"
EXTRA_HINT = "pip install 'mcp-guard[postgres]'"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_CONNECTION_DEFAULTS: dict[str, Any] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 15_000,  # milliseconds unacknowledged data may wait before the connection fails
    "application_name": "mcp-guard",
}


@dataclass(frozen=True, slots=True)
class PostgresTarget:
    """Where a store connects (`conninfo`, options included) and which schema holds its tables."""

    conninfo: str
    schema: str
    name: str  # the URL without credentials, for logs and errors

    @classmethod
    def parse(cls, url: str) -> PostgresTarget:
        """`ValueError` naming the URL (without its password) when it is not a usable PostgreSQL URL."""
        name = shown_url(url)
        if urlsplit(url).scheme not in SCHEMES:
            raise ValueError(f"{name!r} is not a PostgreSQL URL: use postgresql://user@host:5432/dbname")
        conninfo, options = split_options(url, {"schema"})
        schema = options.get("schema", DEFAULT_SCHEMA)
        if not _IDENTIFIER.match(schema):
            raise ValueError(f"{name!r}: schema {schema!r} must be a plain identifier (letters, digits, _)")
        return cls(conninfo, schema, name)

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for `psycopg.connect`: the defaults the URL does not set itself."""
        given = {name for name, _ in parse_qsl(urlsplit(self.conninfo).query)}
        return {name: value for name, value in _CONNECTION_DEFAULTS.items() if name not in given}

    def table(self, name: str) -> str:
        """A table of this target, schema-qualified and quoted, ready for SQL text."""
        return f'"{self.schema}"."{name}"'


def is_postgres_url(url: str) -> bool:
    return urlsplit(url).scheme in SCHEMES
