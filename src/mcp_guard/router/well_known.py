"""RFC 9728 protected-resource metadata: how an MCP client learns which authorization servers issue tokens
for this gateway. Public by nature (a client reads it before it has a token): answered without credentials,
with the document when `auth.oauth` is configured and 404 otherwise, never 401."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..asgi import Scope, send_json, send_problem
from ..auth.oauth.challenge import WELL_KNOWN, metadata_path
from ..errors import MethodNotAllowed, NotFound

if TYPE_CHECKING:
    from ..host import GatewayHost

__all__ = ["WELL_KNOWN", "ResourceMetadata"]


class ResourceMetadata:
    """The ASGI app answering `/.well-known/oauth-protected-resource[<mount>]`. `root=True` also answers the
    bare well-known path (the standalone server, which owns its whole origin)."""

    def __init__(self, gateway: GatewayHost, *, root: bool = False) -> None:
        self.gateway = gateway
        self.root = root

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        oauth = self.gateway.config.auth.oauth
        path = scope.get("path", "")
        if oauth is None or path not in (metadata_path(oauth.resource), *((WELL_KNOWN,) if self.root else ())):
            await send_problem(send, NotFound("No protected-resource metadata here (auth.oauth is not set)"), scope)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await send_problem(send, MethodNotAllowed(f"{scope['method']} is not allowed; use GET"), scope)
            return
        document = {
            "resource": oauth.resource,
            "authorization_servers": [issuer.issuer for issuer in oauth.issuers],
            "bearer_methods_supported": ["header"],
            "resource_name": "mcp-guard",
            **({"scopes_supported": oauth.scopes_supported} if oauth.scopes_supported else {}),
        }
        await send_json(send, 200, document, headers=[(b"cache-control", b"public, max-age=300")])
