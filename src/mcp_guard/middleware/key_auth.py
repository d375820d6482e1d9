"""KeyAuthMiddleware: who is calling, from a virtual key (`Authorization: Bearer` or `x-api-key`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken

from ..asgi import Scope, header, header_values, send_problem
from ..auth.resolver import KeyResolver, challenge_headers
from ..errors import BadRequest, GatewayError, Unauthenticated
from ..state import RequestState

if TYPE_CHECKING:
    from ..gateway import Gateway


class KeyAuthMiddleware:
    """Refuses requests without a valid, active, unexpired key (401/403); otherwise puts the principal
    and its access rule on the request state, and an `AuthenticatedUser` in `scope["user"]` so the MCP
    SDK binds each session to its key (another key presenting the session id gets 404)."""

    def __init__(
        self,
        app: Any,
        *,
        gateway: Gateway | None = None,
        resolver: KeyResolver | None = None,
        exempt_paths: Iterable[str] = (),
    ) -> None:
        self.app = app
        if resolver is None and gateway is None:
            raise TypeError("KeyAuthMiddleware needs gateway= or resolver=")
        self.resolver = resolver or gateway.governance.keys  # type: ignore[union-attr]
        self.user_header = self.resolver.user_header.encode("latin-1")
        self.exempt = tuple(exempt_paths)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path", "") in self.exempt:
            await self.app(scope, receive, send)
            return
        try:
            identity = self.resolver.authenticate(_presented_key(scope))
        except GatewayError as exc:
            await send_problem(send, exc, scope)
            return
        principal = identity.principal
        state = RequestState.from_scope(scope)
        state.principal = principal
        state.access.append(identity.access)
        state.user = header(scope, self.user_header)
        token = AccessToken(token=principal.key_id, client_id=principal.key_id, scopes=list(principal.roles))
        scope["user"] = AuthenticatedUser(token)
        scope["auth"] = principal
        await self.app(scope, receive, send)


def _presented_key(scope: Scope) -> str:
    authorization = header_values(scope, b"authorization")
    api_keys = header_values(scope, b"x-api-key")
    if len(authorization) + len(api_keys) > 1:
        raise BadRequest("Send one key: several Authorization / x-api-key headers were present")
    if api_keys:
        return api_keys[0].strip()
    if not authorization:
        raise Unauthenticated(
            "An API key is required (Authorization: Bearer <key> or x-api-key)", headers=challenge_headers()
        )
    scheme, _, token = authorization[0].strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <key>'", headers=challenge_headers("invalid_request"))
    return token.strip()
