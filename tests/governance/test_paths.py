"""What the middlewares govern (raw ASGI): the gateway's mount by default, the globs an app names, never a
CORS preflight; a refused websocket handshake is closed with 1008; the stack checks the path once."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_guard import Gateway, RequestState
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config
from mcp_guard.middleware import AuditMiddleware, HeaderFilterMiddleware, KeyAuthMiddleware, PathScope, governed
from mcp_guard.routes import RouteRule

from .asgi_helpers import Downstream, Recorder, make_scope, no_body

pytestmark = pytest.mark.anyio

KEY = generate_key()


def gateway(**settings: Any) -> Gateway:
    config = {
        "roles": {"admin": {"tools": ["*"], "admin": True}},
        "keys": [{"name": "root", "hash": hash_key(KEY), "roles": ["admin"]}],
        "auth": {"store": "memory://"},
        "audit": {"sink": "memory://"},
        **settings,
    }
    return Gateway(parse_config(config))


@pytest.mark.parametrize(
    ("patterns", "exclude", "path", "covered"),
    [
        (("/mcp", "/mcp/*"), (), "/mcp", True),
        (("/mcp", "/mcp/*"), (), "/mcp/tools", True),
        (("/mcp", "/mcp/*"), (), "/mcpx", False),
        (("/mcp", "/mcp/*"), (), "/items/1", False),
        (("/items/*/export",), (), "/items/42/export", True),  # a path parameter in the middle
        (("/items/*/export",), (), "/items/42", False),
        (("/api/*",), ("/api/health",), "/api/health", False),
        (("/api/*",), ("/api/health",), "/api/v1/x", True),
        (("/api/v?/*",), (), "/api/v2/x", True),
        (("*",), (), "/anything/at/all", True),
        (("*",), ("/",), "/", False),
    ],
)
def test_patterns(patterns: tuple[str, ...], exclude: tuple[str, ...], path: str, covered: bool) -> None:
    assert PathScope(patterns, exclude).covers(path) is covered


def test_a_pattern_must_be_a_path() -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        PathScope(["api/*"])


def test_paths_are_matched_below_the_apps_root_path() -> None:
    scope = {**make_scope("/prefix/mcp/tools"), "root_path": "/prefix"}
    assert PathScope().governs(scope)


async def call(app: Any, scope: dict[str, Any]) -> Recorder:
    recorder = Recorder()
    await app(scope, no_body, recorder)
    return recorder


async def test_by_default_a_middleware_governs_only_the_mount() -> None:
    downstream = Downstream()
    middleware = KeyAuthMiddleware(downstream, gateway=gateway())
    assert (await call(middleware, make_scope("/items/1"))).status == 204  # the app's route: untouched
    assert "mcp_guard" not in (downstream.scope or {})  # nothing of the gateway on the request
    assert (await call(middleware, make_scope("/mcp/tools"))).status == 401


async def test_preflights_pass_on_untouched_and_websockets_on_governed_paths_need_a_key() -> None:
    middleware = KeyAuthMiddleware(Downstream(), gateway=gateway(), paths=["/mcp", "/mcp/*", "/api/*"])
    preflight = make_scope("/mcp", method="OPTIONS", headers=[("Origin", "https://a.example")])
    preflight["headers"].append((b"access-control-request-method", b"POST"))
    assert (await call(middleware, preflight)).status == 204
    plain_options = make_scope("/mcp", method="OPTIONS")  # not a preflight: governed
    assert (await call(middleware, plain_options)).status == 401
    socket = {**make_scope("/api/live"), "type": "websocket"}
    closed = await call(middleware, socket)
    assert closed.messages == [{"type": "websocket.close", "code": 1008, "reason": closed.messages[0]["reason"]}]
    assert "API key is required" in closed.messages[0]["reason"]
    keyed = {**make_scope("/api/live", headers=[("x-api-key", KEY)]), "type": "websocket"}
    assert (await call(middleware, keyed)).status == 204


async def test_the_stack_governs_its_paths_and_applies_inline() -> None:
    shared = gateway()
    downstream = Downstream()
    stack = governed(downstream, shared, paths=["/mcp", "/mcp/*", "/api/*"], exempt_paths=["/api/health"])
    assert (await call(stack, make_scope("/api/health"))).status == 204
    assert (await call(stack, make_scope("/api/orders"))).status == 401
    assert (await call(stack, make_scope("/api/orders", headers=[("x-api-key", KEY)]))).status == 204
    state = RequestState.from_scope(downstream.scope or {})
    assert state.principal is not None and state.audit is shared.governance.audit and state.rate_limiter is not None
    inline = make_scope("/elsewhere", headers=[("x-api-key", KEY)])
    await stack.apply(inline)  # what an opted-in route runs: every stage, on any path
    assert RequestState.from_scope(inline).principal is not None


async def test_a_single_middleware_takes_paths_too() -> None:
    shared = gateway()
    downstream = Downstream()
    audit = AuditMiddleware(downstream, gateway=shared, paths=["/api/*"])
    await call(audit, make_scope("/api/x"))
    assert RequestState.from_scope(downstream.scope or {}).audit is shared.governance.audit
    await call(audit, make_scope("/mcp/tools"))  # not among its paths
    assert "mcp_guard" not in (downstream.scope or {})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"tool": "no-slash"}, "not of the form 'server/tool'"),
        ({"rate": "often"}, "is not a rate limit"),
        ({"cost": -1}, "must not be negative"),
    ],
)
def test_a_route_rule_fails_when_the_app_starts_not_per_request(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RouteRule.of(**settings)


async def test_a_hostile_filter_entry_is_reported_in_printable_ascii() -> None:
    middleware = HeaderFilterMiddleware(Downstream(), gateway=gateway())
    scope = make_scope("/mcp/tools")
    scope["headers"].append((b"x-mcp-include-tools", "nöpe\x01, x".encode("latin-1") + b"\xff" * 3000))
    recorder = await call(middleware, scope)
    warning = recorder.headers["x-mcp-guard-warning"]
    assert warning.isascii() and warning.isprintable() and len(warning) <= 1024
    assert warning.startswith("filter entries match nothing configured: x-mcp-include-tools: 'n")


async def test_a_filter_is_kept_across_catalog_changes_and_its_warning_follows_the_catalog() -> None:
    import mcp_types as types

    gw = gateway(servers=[{"name": "alpha", "transport": "http", "url": "http://127.0.0.1:9/mcp"}])
    gw.catalog.update_server("alpha", [types.Tool(name="read", input_schema={"type": "object"})])
    middleware = HeaderFilterMiddleware(Downstream(), gateway=gw)

    async def filtered() -> tuple[Any, str | None]:
        scope = make_scope("/mcp/tools", headers=[("x-mcp-include-tools", "alpha/write")])
        recorder = await call(middleware, scope)
        return RequestState.from_scope(scope).access[-1], recorder.headers.get("x-mcp-guard-warning")

    rule, warning = await filtered()
    assert warning is not None and "alpha/write" in warning
    tools = [types.Tool(name=n, input_schema={"type": "object"}) for n in ("read", "write")]
    gw.catalog.update_server("alpha", tools)
    again, warning = await filtered()
    assert again is rule  # one object per set of headers: the listing cache knows it again
    assert warning is None
