"""The machine's Redis and PostgreSQL, and names that keep parallel test runs apart.

Tests never reconfigure or stop these shared services: each run gets its own Redis key prefix and
PostgreSQL schema (`unique`), removed afterwards. Fault tests cut a service through a `TcpProxy` instead,
and a test that must stop or pause Redis starts its own (`own_redis`). Both URLs can be overridden
(`MCP_GUARD_TEST_REDIS_URL`, `MCP_GUARD_TEST_POSTGRES_URL`).
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis

from tests.support.processes import ServerProcess, free_port, port_is_open

REDIS_URL = os.environ.get("MCP_GUARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get("MCP_GUARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def require(url: str) -> None:
    """Skip the test, naming the service, when nothing listens at `url`."""
    parts = urlsplit(url)
    if not port_is_open(parts.port or 0, parts.hostname or "127.0.0.1"):
        pytest.skip(f"needs a server at {parts.scheme}://{parts.hostname}:{parts.port}")


def unique(tag: str) -> str:
    """A name no other run uses: a Redis prefix, a PostgreSQL schema, a rate-limit namespace."""
    return f"mcpg_{tag}_{uuid.uuid4().hex[:12]}"


def via(url: str, port: int) -> str:
    """`url` pointed at 127.0.0.1:`port` (a proxy in front of the real server)."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def target_of(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 0


def drop_schema(schema: str) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def delete_keys(*patterns: str) -> None:
    """Delete the Redis keys matching any of `patterns` (glob, as SCAN reads them)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for pattern in patterns:
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)
    finally:
        client.close()


def count_records(schema: str, **equal: str) -> int:
    """Audit records in `schema` whose columns equal `equal`."""
    where = " AND ".join(f"{name} = %s" for name in equal) or "TRUE"
    with psycopg.connect(POSTGRES_URL) as conn:
        row = conn.execute(f'SELECT COUNT(*) FROM "{schema}".audit_log WHERE {where}', list(equal.values())).fetchone()
    return int(row[0]) if row else 0


def own_redis() -> ServerProcess:
    """A `redis-server` of the test's own on a free port (nothing on disk), to pause or stop at will."""
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    return ServerProcess(argv, port=port, path="")
