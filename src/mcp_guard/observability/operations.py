"""The operations endpoints: `/healthz`, `/readyz`, `/metrics`.

The governance stack (`middleware/stack.py`, through `ObservedApp`) answers them at the paths in
`observability.paths` before any governance middleware, so probes and scrapers need no key; the same
endpoints are also one ASGI app, `gateway.operations`, to mount anywhere in a host app (it answers
`/healthz`, `/readyz` and `/metrics` below its mount point).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..asgi import Scope, route_path, send_json, send_problem
from ..errors import GatewayError, MethodNotAllowed, NotFound
from .health import liveness, readiness

if TYPE_CHECKING:
    from ..core import GatewayCore

Endpoint = Callable[[Scope, Any], Awaitable[None]]
_METHODS = ("GET", "HEAD")


class Operations:
    """The three endpoints of one gateway."""

    def __init__(self, gateway: GatewayCore) -> None:
        self.gateway = gateway
        self._relative: dict[str, Endpoint] = {
            "/healthz": self.healthz,
            "/readyz": self.readyz,
            "/metrics": self.metrics,
        }

    def at_paths(self) -> dict[str, Endpoint]:
        """The endpoints by the absolute paths configured for them (`observability.paths`)."""
        paths = self.gateway.config.observability.paths
        wanted = {paths.healthz: self.healthz, paths.readyz: self.readyz, paths.metrics: self.metrics}
        return {path: endpoint for path, endpoint in wanted.items() if path is not None}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Mounted in a host app: `/healthz`, `/readyz`, `/metrics` below the mount point."""
        if scope["type"] != "http":
            return
        endpoint = self._relative.get(route_path(scope))
        if endpoint is None:
            await send_problem(send, NotFound(f"No operations endpoint {route_path(scope)!r}"), scope)
            return
        await self.serve(endpoint, scope, send)

    async def serve(self, endpoint: Endpoint, scope: Scope, send: Any) -> None:
        try:
            if scope.get("method") not in _METHODS:
                raise MethodNotAllowed(f"{scope.get('method')} is not allowed here; use GET")
            await endpoint(scope, send)
        except GatewayError as exc:
            await send_problem(send, exc, scope)

    async def healthz(self, scope: Scope, send: Any) -> None:
        await send_json(send, 200, liveness())

    async def readyz(self, scope: Scope, send: Any) -> None:
        ready, report = readiness(self.gateway)
        await send_json(send, 200 if ready else 503, report)

    async def metrics(self, scope: Scope, send: Any) -> None:
        gateway = self.gateway
        metrics = gateway.observer.metrics
        if metrics is None:
            raise NotFound("Metrics are off: install the `metrics` extra (pip install 'mcp-guard[metrics]')")
        if gateway.config.observability.metrics.require_key:
            from ..middleware.key_auth import presented_key

            gateway.governance.keys.authenticate(presented_key(scope))
        metrics.refresh(gateway.upstreams.values(), gateway.governance.audit_in_use())
        body, content_type = metrics.exposition()
        headers = [(b"content-type", content_type.encode("latin-1")), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
