"""Several real gateway processes (`mcp-guard serve config.yaml --port N`) sharing Redis and PostgreSQL.

`Deployment` holds the names one run uses (Redis prefix and namespace, PostgreSQL schema) and the keys
of its YAML configuration; `config()` writes the configuration every process reads, `start()` starts
the processes at once and `cleanup()` removes what they left in Redis and PostgreSQL. `Caller` drives
tool calls through `POST /mcp/tool/execute` with bounded concurrency.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import yaml

from mcp_guard.audit.postgres_store import PostgresStore
from mcp_guard.audit.verify import VerifyReport, verify_store
from mcp_guard.auth.keys import generate_key, hash_key
from tests.support.processes import ServerProcess, free_port

from .services import POSTGRES_URL, REDIS_URL, delete_keys, drop_schema, unique

ROOT = Path(__file__).resolve().parents[2]
CONFIG_KEYS = ("admin", "limited", "spender-1", "spender-2", "auditor", "faulty")


@dataclass
class Deployment:
    """One run's names and keys; `redis_url` / `postgres_url` may point at proxies."""

    redis_url: str = REDIS_URL
    postgres_url: str = POSTGRES_URL
    name: str = field(default_factory=lambda: unique("scaleout"))
    keys: dict[str, str] = field(default_factory=lambda: {name: generate_key() for name in CONFIG_KEYS})

    @property
    def schema(self) -> str:
        return self.name

    @property
    def prefix(self) -> str:
        return f"{self.name}:budget"

    @property
    def budget_url(self) -> str:
        return f"{self.redis_url}?prefix={self.prefix}"

    @property
    def postgres_sink(self) -> str:
        return f"{self.postgres_url}?schema={self.schema}"

    def config(self, **overrides: Any) -> dict[str, Any]:
        """The gateway configuration: tools, keys, a shared rate limit, budgets, audit and keys in PostgreSQL."""
        spender = {"roles": ["worker"], "team": "spenders", "budget": {"limit": 8.0, "period": "1d"}}
        keys = [
            {"name": "admin", "roles": ["admin"]},
            {"name": "limited", "roles": ["worker"]},
            {"name": "spender-1", **spender},
            {"name": "spender-2", **spender},
            {"name": "auditor", "roles": ["worker"]},
            {"name": "faulty", "roles": ["worker"], "team": "spenders"},
        ]
        config: dict[str, Any] = {
            "servers": {"work": {"transport": "inprocess", "target": "tests.scaleout.tools:server"}},
            "roles": {"worker": {"tools": ["work/*"]}, "admin": {"tools": ["*"], "admin": True}},
            "customers": {"acme": {"budget": {"limit": 12.0, "period": "1d"}}},
            "teams": {"spenders": {"customer": "acme", "budget": {"limit": 10.0, "period": "1d"}}},
            "keys": [{**key, "hash": hash_key(self.keys[key["name"]])} for key in keys],
            "auth": {"store": self.postgres_sink, "cache_seconds": 1.0},
            "rate_limits": {
                "storage": self.redis_url,
                "namespace": self.name,
                "rules": [{"limit": "100/minute", "tools": "work/limited", "per": "global"}],
            },
            "budgets": {"storage": self.budget_url},
            "pricing": {"tools": {"work/priced": 0.01}},
            "audit": {"sink": self.postgres_sink, "flush_interval": 0.05},
        }
        for section, values in overrides.items():
            config[section] = {**config.get(section, {}), **values}
        return config

    def start(self, directory: Path, count: int, config: dict[str, Any] | None = None) -> list[ServerProcess]:
        """`count` gateway processes on free ports, all started before this returns (in parallel)."""
        path = directory / f"{self.name}.yaml"
        path.write_text(yaml.safe_dump(config or self.config()))
        processes = [gateway_process(path, directory) for _ in range(count)]
        errors: list[BaseException] = []

        def start(process: ServerProcess) -> None:
            try:
                process.start()
            except BaseException as exc:  # reported below, after every thread is done
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(process,)) for process in processes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            stop(processes)
            raise errors[0]
        return processes

    def cleanup(self) -> None:
        drop_schema(self.schema)
        delete_keys(f"{{{self.prefix}}}:*", f"*{self.name}*")


def gateway_process(config: Path, directory: Path) -> ServerProcess:
    port = free_port()
    argv = [sys.executable, "-m", "mcp_guard.cli", "serve", str(config), "--port", str(port)]
    env = {"PYTHONPATH": str(ROOT)}
    return ServerProcess(argv, port=port, path="/mcp", env=env, cwd=directory, startup_timeout=60)


def stop(processes: Iterable[ServerProcess]) -> None:
    threads = [threading.Thread(target=process.stop) for process in processes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@dataclass
class Caller:
    """Tool calls through the REST endpoint of several processes, spread round robin."""

    processes: Sequence[ServerProcess]
    concurrency: int = 200

    def client(self) -> httpx2.AsyncClient:
        # No keep-alive: a server may close a pooled connection just as the client reuses it (an
        # `httpx2.ReadError` under load), and a tool call is not safe to retry; a fresh connection per call is.
        limits = httpx2.Limits(max_connections=self.concurrency, max_keepalive_connections=0)
        return httpx2.AsyncClient(limits=limits, timeout=60.0)

    async def many(self, key: str, tool: str, count: int, *, text: str = "x") -> list[int]:
        """`count` calls of `tool` with `key`, at most `concurrency` at a time; the HTTP status of each."""
        statuses: list[int] = []
        limiter = anyio.Semaphore(self.concurrency)
        async with self.client() as http:

            async def one(index: int) -> None:
                async with limiter:
                    statuses.append(await call(http, self.processes[index % len(self.processes)], key, tool, text))

            async with anyio.create_task_group() as group:
                for index in range(count):
                    group.start_soon(one, index)
        return statuses


async def call(http: httpx2.AsyncClient, process: ServerProcess, key: str, tool: str, text: str = "x") -> int:
    """One `POST /mcp/tool/execute`; its HTTP status (200 also for a tool-level error, which these never are)."""
    body = {"id": "call", "type": "function", "function": {"name": tool, "arguments": json.dumps({"text": text})}}
    response = await http.post(
        f"{process.base_url}/mcp/tool/execute", json=body, headers={"authorization": f"Bearer {key}"}
    )
    return response.status_code


async def verified(deployment: Deployment) -> VerifyReport:
    """`mcp-guard audit verify` of the deployment's PostgreSQL chain, in a worker thread."""
    store = PostgresStore.from_uri(deployment.postgres_sink, create=False)
    try:
        return await anyio.to_thread.run_sync(verify_store, store)
    finally:
        store.close()


def admin_headers(deployment: Deployment) -> dict[str, str]:
    return {"authorization": f"Bearer {deployment.keys['admin']}"}
