"""The standalone server: the gateway router under `/mcp`, and Bifrost's MCP REST paths at the root (see
`router/bifrost.py`), for teams without an app of their own."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio

from .asgi import Scope, send_json, send_problem
from .errors import NotFound
from .gateway import Gateway
from .middleware import governed
from .middleware.paths import EVERY_PATH, MOUNT
from .router import OPENAPI_PATH, UI_PATH, GatewayRouter, public_paths
from .router.bifrost import BIFROST_ROUTES
from .router.well_known import WELL_KNOWN, ResourceMetadata

_BIFROST_PREFIXES = ("/v1/", "/api/mcp/")
logger = logging.getLogger("mcp_guard")


def standalone_app(gateway: Gateway, *, mount: str = MOUNT) -> Any:
    """`gateway.router` at `mount` (both `/mcp` and `/mcp/...`, without redirects) and Bifrost's paths,
    behind all five governance middlewares on every path; only the index page `/`, the OpenAPI document and
    the operations endpoints (`/healthz`, `/readyz`, `/metrics`, see `observability.paths`) answer without
    a key, and the dashboard (`/ui/`, also under the mount), which has its own login for admin keys."""
    # `/.well-known/*`: discovery documents answer their document or 404, never 401 (RFC 9728, RFC 8414)
    exempt = ("/", UI_PATH, UI_PATH + "/*", "/.well-known/*", *public_paths(mount))
    return governed(_mounted(gateway, mount), gateway, paths=EVERY_PATH, exempt_paths=exempt)


def _mounted(gateway: Gateway, mount: str) -> Any:
    bifrost = GatewayRouter(gateway, BIFROST_ROUTES, mcp_at_root=False)
    resource_metadata = ResourceMetadata(gateway, root=True)

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await gateway.serve_lifespan(scope, receive, send)
            return
        path = scope.get("path", "")
        if path == mount or path.startswith(mount + "/"):
            await gateway.router({**scope, "root_path": scope.get("root_path", "") + mount}, receive, send)
        elif scope["type"] != "http":
            return  # a websocket: closing without accepting refuses it
        elif path == WELL_KNOWN or path.startswith(WELL_KNOWN + "/"):
            await resource_metadata(scope, receive, send)
        elif path == UI_PATH or path.startswith(UI_PATH + "/"):
            await gateway.dashboard(scope, receive, send)  # also at the root: `/ui/` as well as `<mount>/ui/`
        elif path == "/":
            index = {
                "service": "mcp-guard",
                "mcp": mount,
                "tools": f"{mount}/tools",
                "openapi": mount + OPENAPI_PATH,
                "dashboard": UI_PATH + "/",
            }
            await send_json(send, 200, index)
        elif path.startswith(_BIFROST_PREFIXES) and bifrost.matches(path):
            await bifrost(scope, receive, send)
        else:
            await send_problem(send, NotFound(f"No route {path!r}; the gateway is mounted at {mount!r}"), scope)

    return app


def serve(
    gateway: Gateway,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve the standalone app with uvicorn; `on_ready` runs once the gateway is up and listening. Logging
    goes through the process's handlers (`configure_logging`): no access log, the gateway writes one line
    per call or request itself. SIGHUP reloads the configuration file."""
    import uvicorn

    class ReadyServer(uvicorn.Server):
        """Calls `on_ready` after uvicorn's own start-up lines, so what it prints is last on the console."""

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if on_ready is not None and not self.should_exit:
                on_ready()

    gateway.reload_on_sighup = True
    app = standalone_app(gateway)
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, log_config=None, access_log=False, lifespan="on"
    )
    ReadyServer(config).run()


def warn_without_keys(gateway: Gateway, source: str) -> None:
    """Say loudly that a gateway whose configuration defines no keys refuses everything, unless its key
    store holds runtime keys (or OAuth access tokens are accepted)."""
    if gateway.config.auth.oauth is not None:
        return
    runtime = _runtime_key_count(gateway)
    if runtime:
        return
    store = gateway.config.auth.store
    held = f"the key store {store!r} holds none" if runtime == 0 else f"unless the key store {store!r} holds some"
    logger.warning(
        "%s defines no keys and %s: EVERY request to %s will be refused with 401. Create a key with "
        "`mcp-guard keys create admin --roles admin` and put the entry it prints under `keys:`.",
        source,
        held,
        MOUNT,
    )


def _runtime_key_count(gateway: Gateway) -> int | None:
    """How many runtime keys the key store holds; None when it cannot be read now (a shared store is read
    by its replica once the gateway runs)."""
    from .auth.replica import ReplicatedKeyStore

    store = gateway.governance.keys.store
    if isinstance(store, ReplicatedKeyStore):
        return None
    try:
        return len(anyio.run(store.list))
    except Exception:  # noqa: BLE001 - only a warning depends on it
        return None
