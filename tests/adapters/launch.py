"""The examples and the documented snippets, started for real (uvicorn on loopback), and small HTTP helpers."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2

from mcp_guard.auth.keys import hash_key
from tests.support.processes import ServerProcess, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Served:
    """A running app and the admin key it accepts."""

    server: ServerProcess
    admin_key: str

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def mcp_url(self) -> str:
        return self.server.url

    def http(self, key: str | None = None, **headers: str) -> httpx2.AsyncClient:
        """A plain HTTP client on the app, presenting `key` (if any) and `headers` on every request."""
        if key is not None:
            headers["x-api-key"] = key
        return httpx2.AsyncClient(base_url=self.base_url, headers=headers, timeout=10)


def example_env(data_dir: Path, admin_key: str) -> dict[str, str]:
    """What `examples/gateway.yaml` reads from the environment."""
    return {"MCPG_ADMIN_KEY_HASH": hash_key(admin_key), "MCPG_DATA_DIR": str(data_dir), "MCPG_PYTHON": sys.executable}


def uvicorn_app(target: str, *, cwd: Path = REPO_ROOT, env: Mapping[str, str] | None = None) -> ServerProcess:
    """`uvicorn module:app` on a free loopback port, run from `cwd` (not started yet)."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--lifespan", "on", "--log-level", "warning"]
    return ServerProcess(argv, port=port, path="/mcp", env=env, cwd=cwd)


def standalone_gateway(config: Path, *, env: Mapping[str, str] | None = None) -> ServerProcess:
    """`mcp-guard serve CONFIG` (the installed command) on a free loopback port, run from the repository
    root (not started yet)."""
    command = Path(sys.executable).with_name("mcp-guard")
    if not command.exists():
        raise FileNotFoundError(f"{command} not found: install mcp-guard into this environment")
    port = free_port()
    argv = [str(command), "serve", str(config), "--host", "127.0.0.1", "--port", str(port)]
    return ServerProcess(argv, port=port, path="/mcp", env=env, cwd=REPO_ROOT)


def assert_problem(response: httpx2.Response, status: int, reason: str) -> dict[str, Any]:
    """An RFC 9457 problem from mcp-guard's renderer, with this status and machine reason."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"] == f"urn:mcp-guard:problem:{reason}"
    return body


async def audit_records(served: Served, timeout: float = 5.0, **query: str) -> list[dict[str, Any]]:
    """`GET /mcp/audit` with the admin key, polled until it returns a record (writes are batched)."""
    async with served.http(served.admin_key) as admin:
        with anyio.move_on_after(timeout):
            while True:
                response = await admin.get("/mcp/audit", params=query)
                assert response.status_code == 200, response.text
                records: list[dict[str, Any]] = response.json()["records"]
                if records:
                    return records
                await anyio.sleep(0.05)
    raise AssertionError(f"no audit record for {query} within {timeout} s")


async def create_key(served: Served, name: str, roles: list[str], team: str | None = None) -> str:
    """A runtime key made through the admin endpoint `POST /mcp/keys`."""
    async with served.http(served.admin_key) as admin:
        response = await admin.post("/mcp/keys", json={"name": name, "roles": roles, "team": team})
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key
