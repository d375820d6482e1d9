"""The gateway dropped into an existing app, per framework, the way the README says (`install(app, gateway)`,
`MCPGuardPlugin(gateway)`): the app's own test suite passes unchanged, the gateway serves and governs its
mount beside the app's own auth and CORS, MCP sessions stay bound to their key whatever the app writes in
`scope["user"]`, a browser MCP client on another origin gets through, and the app's routes that opt in are
governed (allowed, refused, rate limited, charged, audited). In process (Starlette's TestClient), no sockets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from mcp_guard_fastapi import install as install_fastapi
from mcp_guard_litestar import MCPGuardPlugin
from mcp_guard_starlette import install as install_starlette
from starlette.testclient import TestClient

from mcp_guard import Gateway, InProcessServer
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config

from .hostapps import fastapi_host, litestar_host, starlette_host
from .hostapps.suite import BASE_URL, check_host_app

MCP_CLIENT_ORIGIN = "https://mcp-client.example"  # a browser MCP client's page: not the app's front end
ADMIN, SUPPORT, VIEWER = generate_key(), generate_key(), generate_key()
APP_AUTH = {"Authorization": "Bearer app-token-alice"}
JSON_RPC = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def host_gateway() -> Gateway:
    billing = InProcessServer("billing")

    @billing.tool
    def invoice_total(customer_id: str) -> float:
        """Total invoiced to a customer."""
        return 1234.5

    config = parse_config(
        {
            "roles": {
                "admin": {"tools": ["*"], "admin": True},
                "support": {"tools": ["billing/*"]},
                "viewer": {"tools": ["nothing/*"]},
            },
            "teams": {"finance": {"budget": {"limit": 1.0, "period": "1d"}}},
            "keys": [
                {"name": "root", "hash": hash_key(ADMIN), "roles": ["admin"]},
                {"name": "support-bot", "hash": hash_key(SUPPORT), "roles": ["support"], "team": "finance"},
                {"name": "viewer-bot", "hash": hash_key(VIEWER), "roles": ["viewer"]},
            ],
            "auth": {"store": "memory://"},
            "budgets": {"storage": "memory://"},
            "audit": {"sink": "memory://", "synchronous": True},
            "cors": {"allow_origins": [MCP_CLIENT_ORIGIN]},
        }
    )
    return Gateway(config, inprocess=[billing])


@dataclass(frozen=True)
class Framework:
    name: str
    host: ModuleType
    installed: Callable[..., Any]  # (gateway, **install options): the host app with the README's install line


FRAMEWORKS = [
    Framework("fastapi", fastapi_host, lambda g, **kw: _installed(fastapi_host.create_app(), install_fastapi, g, kw)),
    Framework("litestar", litestar_host, lambda g, **kw: litestar_host.create_app(plugins=[MCPGuardPlugin(g, **kw)])),
    Framework(
        "starlette", starlette_host, lambda g, **kw: _installed(starlette_host.create_app(), install_starlette, g, kw)
    ),
]


def _installed(app: Any, install: Callable[..., None], gateway: Gateway, options: dict[str, Any]) -> Any:
    install(app, gateway, **options)
    return app


@pytest.fixture(params=FRAMEWORKS, ids=lambda framework: framework.name)
def framework(request: pytest.FixtureRequest) -> Framework:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def client(framework: Framework) -> Iterator[TestClient]:
    app = framework.installed(host_gateway())
    framework.host.opt_in(app)
    with TestClient(app, base_url=BASE_URL) as http:
        yield http


def test_the_host_apps_own_tests_pass_unchanged(framework: Framework) -> None:
    with TestClient(framework.host.create_app(), base_url=BASE_URL) as before:
        checks = check_host_app(before, framework.host.PATHS)
    with TestClient(framework.installed(host_gateway()), base_url=BASE_URL) as after:
        assert check_host_app(after, framework.host.PATHS) == checks == 16


def test_the_gateway_serves_its_mount_beside_the_apps_own_auth(client: TestClient) -> None:
    both = client.get("/mcp/tools", headers={"x-api-key": ADMIN, **APP_AUTH})  # the gateway's key and the app's
    assert [tool["name"] for tool in both.json()["tools"]] == ["billing__invoice_total"]
    assert client.get("/mcp/tools", headers={"x-bf-vk": SUPPORT}).status_code == 200  # Bifrost's header
    refused = client.get("/mcp/tools", headers=APP_AUTH)  # the app's token is no gateway key
    assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
    assert client.get("/mcp/openapi.json").json()["paths"]["/mcp/tools"]["get"]["security"]  # public, documented
    assert client.get("/items/1", headers={"x-api-key": ADMIN, **APP_AUTH}).json()["owner"] == "alice"


def test_an_opted_in_route_is_allowed_refused_limited_charged_and_audited(
    framework: Framework, client: TestClient
) -> None:
    def report(key: str | None, **headers: str) -> Any:
        return client.get("/reports/r-1", headers={**({"x-api-key": key} if key else {}), **APP_AUTH, **headers})

    assert _problem(report(None), 401) == "unauthenticated"
    assert _problem(report(VIEWER), 403) == "not_allowed"  # the tool's rule: viewers may not use billing
    assert _problem(report(SUPPORT, **{"x-mcp-exclude-tools": "billing/*"}), 403) == "filtered"
    assert [report(SUPPORT).json() for _ in range(2)] == [{"report": "r-1"}] * 2  # 0.50 each of 1.00
    assert _problem(report(SUPPORT), 402) == "budget_exceeded"  # the third would overspend the team
    limited = report(SUPPORT)  # 3/minute: the fourth attempt
    assert _problem(limited, 429) == "rate_limited" and int(limited.headers["retry-after"]) >= 1
    route = f"app/{framework.host.REPORT_ROUTE}"
    records = client.get("/mcp/audit", params={"tool": "app/*"}, headers={"x-api-key": ADMIN}).json()["records"]
    assert [(r["tool"], r["key_name"], r["decision"], r["reason"], r["cost"]) for r in reversed(records)] == [
        (framework.host.REPORT_ROUTE, "viewer-bot", "denied", "not_allowed", 0.0),
        (framework.host.REPORT_ROUTE, "support-bot", "denied", "filtered", 0.0),
        (framework.host.REPORT_ROUTE, "support-bot", "allowed", None, 0.5),
        (framework.host.REPORT_ROUTE, "support-bot", "allowed", None, 0.5),
        (framework.host.REPORT_ROUTE, "support-bot", "denied", "budget_exceeded", 0.0),
        (framework.host.REPORT_ROUTE, "support-bot", "denied", "rate_limited", 0.0),
    ]
    assert records[0]["arguments"] == {"method": "GET", "path": "/reports/r-1"} and records[0]["entry"] == "route"
    costs = client.get("/mcp/analytics/costs", params={"team_id": "finance"}, headers={"x-api-key": ADMIN}).json()
    assert costs["usage"] == [{"tool": route, "calls": 2, "cost": 1.0}] and costs["remaining"] == 0.0


def test_glob_patterns_govern_whole_prefixes_beside_the_apps_own_auth(framework: Framework) -> None:
    app = framework.installed(host_gateway(), govern=["/items/*"], exempt_paths=["/items/2"])
    with TestClient(app, base_url=BASE_URL) as http:
        assert _problem(http.get("/items/1", headers=APP_AUTH), 401) == "unauthenticated"  # the gateway's key first
        assert http.get("/items/1", headers={"x-api-key": SUPPORT, **APP_AUTH}).json()["owner"] == "alice"
        assert http.get("/items/1", headers={"x-api-key": SUPPORT}).status_code == 401  # then the app's own auth
        assert http.get("/items/2", headers=APP_AUTH).json()["owner"] == "alice"  # exempt
        assert http.get("/").json() == {"service": "items"}  # outside the prefix: untouched


def test_asking_for_the_principal_opts_a_route_in(client: TestClient) -> None:
    assert _problem(client.get("/whoami", headers=APP_AUTH), 401) == "unauthenticated"
    assert client.get("/whoami", headers={"x-api-key": SUPPORT, **APP_AUTH}).json() == {"key": "support-bot"}


def test_mcp_sessions_stay_bound_to_the_key_that_opened_them(client: TestClient) -> None:
    """The Starlette host's AuthenticationMiddleware writes `scope["user"]` on every request; the session
    is bound to the gateway key all the same (another key presenting its id gets 404)."""
    opened = client.post("/mcp", json=_initialize(), headers={"x-api-key": ADMIN, **APP_AUTH, **JSON_RPC})
    assert opened.status_code == 200, opened.text
    session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    stolen = client.post("/mcp", json=listing, headers={"x-api-key": SUPPORT, **APP_AUTH, **JSON_RPC, **session})
    assert stolen.status_code == 404
    owned = client.post("/mcp", json=listing, headers={"x-api-key": ADMIN, **APP_AUTH, **JSON_RPC, **session})
    assert owned.json()["result"]["tools"][0]["name"] == "billing__invoice_total"


def test_a_browser_mcp_client_on_another_origin_gets_through(client: TestClient) -> None:
    """The mount's own CORS (`cors:`) answers, not the app's (which only allows its own front end)."""
    preflight = client.options(
        "/mcp",
        headers={
            "Origin": MCP_CLIENT_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-api-key, mcp-protocol-version",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == MCP_CLIENT_ORIGIN
    assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
    initialized = client.post(
        "/mcp", json=_initialize(), headers={"Origin": MCP_CLIENT_ORIGIN, "x-api-key": ADMIN, **JSON_RPC}
    )
    assert initialized.status_code == 200, initialized.text
    assert initialized.json()["result"]["serverInfo"]["name"] == "mcp-guard"
    assert initialized.headers["access-control-allow-origin"] == MCP_CLIENT_ORIGIN
    assert "mcp-session-id" in initialized.headers["access-control-expose-headers"].lower()
    foreign = client.options("/items/1", headers={"Origin": MCP_CLIENT_ORIGIN, "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in foreign.headers  # the app's routes keep the app's policy


@pytest.mark.parametrize("framework", FRAMEWORKS[:2], ids=["fastapi", "litestar"])
def test_the_gateway_routes_are_in_the_apps_openapi_document(framework: Framework) -> None:
    app = framework.installed(host_gateway())
    with TestClient(app, base_url=BASE_URL) as http:
        document = http.get(framework.host.PATHS.openapi).json()
    execute = document["paths"]["/mcp/tool/execute"]["post"]
    assert execute["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert {"mcpGuardKey": []} in execute["security"]
    assert {"mcpGuardKey", "mcpGuardBearer", "bifrostVirtualKey"} <= set(document["components"]["securitySchemes"])
    assert "/items/{item_id}" in document["paths"]  # the app's own routes are still there


def _initialize() -> dict[str, Any]:
    params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "browser", "version": "1"}}
    return {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}


def _problem(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    reason: str = response.json()["type"].rsplit(":", 1)[-1]
    return reason
