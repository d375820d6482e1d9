"""KeyAuthMiddleware: who is calling, from a virtual key (`Authorization: Bearer` or `x-api-key`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken

from ..asgi import Scope, send_problem
from ..auth.resolver import Identity, KeyResolver, challenge_headers
from ..caches import IdentityCache
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
        # One SDK user per identity, shared by its requests (the SDK only reads it): saves building a
        # pydantic `AccessToken` per request (~2 µs). The resolver rebuilds the identity whenever the key's
        # record changes, so a changed key gets a new user.
        self._users: IdentityCache[Identity, None, AuthenticatedUser] = IdentityCache(_sdk_user)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path", "") in self.exempt:
            await self.app(scope, receive, send)
            return
        authorization, api_keys, user = _credentials(scope, self.user_header)
        try:
            identity = self.resolver.authenticate(_presented_key(authorization, api_keys))
        except GatewayError as exc:
            await send_problem(send, exc, scope)
            return
        principal = identity.principal
        state = RequestState.from_scope(scope)
        state.principal = principal
        state.access.append(identity.access)
        state.user = user
        scope["user"] = self._users.get(identity, None)
        scope["auth"] = principal
        await self.app(scope, receive, send)


def _sdk_user(identity: Identity, _: None) -> AuthenticatedUser:
    principal = identity.principal
    token = AccessToken(token=principal.key_id, client_id=principal.key_id, scopes=list(principal.roles))
    return AuthenticatedUser(token)


def _credentials(scope: Scope, user_header: bytes) -> tuple[list[str], list[str], str | None]:
    """Every `Authorization` and `x-api-key` value and the first user header, in one pass over the
    headers (instead of one pass per header name)."""
    authorization: list[str] = []
    api_keys: list[str] = []
    user: str | None = None
    for name, value in scope.get("headers", ()):
        if name == user_header and user is None:
            user = value.decode("latin-1")
        if name == b"authorization":
            authorization.append(value.decode("latin-1"))
        elif name == b"x-api-key":
            api_keys.append(value.decode("latin-1"))
    return authorization, api_keys, user


def _presented_key(authorization: list[str], api_keys: list[str]) -> str:
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
