"""KeyAuthMiddleware: who is calling, from a virtual key (`x-api-key`, `x-bf-vk` or `Authorization: Bearer`)
or, with `auth.oauth`, an OAuth access token (`Authorization: Bearer <JWT>`, docs/oauth.md)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken

from ..asgi import Scope
from ..auth.identity import Identity
from ..auth.keys import fingerprint
from ..auth.oauth.challenge import invalid_token, pointing_to_metadata
from ..auth.resolver import KeyResolver, challenge_headers, key_required
from ..caches import IdentityCache
from ..errors import BadRequest, GatewayError, Unauthenticated
from ..state import RequestState
from .base import GoverningMiddleware, Paths
from .paths import DEFAULT_PATHS

if TYPE_CHECKING:
    from ..audit.refusals import RefusalLog
    from ..core import GatewayCore

# Headers that carry only the gateway's key. When one is present, `Authorization` is left to the host app
# (its own Bearer tokens), so a request to a governed app route can carry both.
KEY_HEADERS = (b"x-api-key", b"x-bf-vk")  # x-bf-vk: Bifrost's virtual-key header


class KeyAuthMiddleware(GoverningMiddleware):
    """Refuses governed requests without a valid, active, unexpired key (401/403); otherwise puts the
    principal, its access rule and the MCP SDK's user for it on the request state. The router hands that
    user to the SDK (which binds each MCP session to it) right before the SDK sees the request: the gateway
    never writes `scope["user"]` on the app's routes, and never trusts what the app put there."""

    def __init__(
        self,
        app: Any,
        *,
        gateway: GatewayCore | None = None,
        resolver: KeyResolver | None = None,
        paths: Paths = DEFAULT_PATHS,
        exempt_paths: Iterable[str] = (),
        refusals: RefusalLog | None = None,
    ) -> None:
        super().__init__(app, paths, exempt_paths, gateway=gateway, refusals=refusals)
        if resolver is None and gateway is None:
            raise TypeError("KeyAuthMiddleware needs gateway= or resolver=")
        self.resolver = resolver or gateway.governance.keys  # type: ignore[union-attr]
        self.user_header = self.resolver.user_header.encode("latin-1")
        # One SDK user per identity, shared by its requests (the SDK only reads it): saves building a
        # pydantic `AccessToken` per request (~2 µs). The resolver rebuilds the identity whenever the key's
        # record changes, so a changed key gets a new user.
        self._users: IdentityCache[Identity, None, AuthenticatedUser] = IdentityCache(_sdk_user)

    async def apply(self, scope: Scope) -> None:
        tokens = self.resolver.tokens
        try:
            await self._authenticate(scope)
        except GatewayError as exc:  # a 401 names where to get a token (RFC 9728 §5.1)
            raise pointing_to_metadata(exc, tokens.settings.resource) if tokens is not None else exc from None

    async def _authenticate(self, scope: Scope) -> None:
        authorization, gateway_keys, user = _credentials(scope, self.user_header)
        state = RequestState.from_scope(scope)
        state.user = user  # attribution only, also of a refusal
        presented = self._presented(authorization, gateway_keys)
        identity: Identity | None = None
        try:
            identity = await self._identify(presented, bool(authorization) and not gateway_keys)
            self.resolver.check_usable(identity)
        except GatewayError:  # who tried, for the refusal's audit record: never the key itself
            state.key_fingerprint = fingerprint(presented)
            state.refused_key = identity.principal if identity is not None else None  # inactive or expired
            raise
        if identity.record.source == "oauth":
            state.user = identity.principal.key_name  # the token's user, authenticated: no header overrides it
            state.access_token = presented
        state.principal = identity.principal
        state.access.append(identity.access)
        state.mcp_user = self._users.get(identity, None)

    def _presented(self, authorization: list[str], gateway_keys: list[str]) -> str:
        tokens = self.resolver.tokens
        if tokens is None or authorization or gateway_keys:
            return _presented_key(authorization, gateway_keys)
        either = " or an API key (x-api-key)" if tokens.settings.accept_keys else ""
        raise Unauthenticated(f"An access token is required (Authorization: Bearer <token>){either}")

    async def _identify(self, presented: str, bearer: bool) -> Identity:
        """A virtual key, or an access token when OAuth is on and the Bearer credential is one (`takes`)."""
        tokens = self.resolver.tokens
        if tokens is None:
            return self.resolver.identify(presented)
        if bearer and tokens.takes(presented):
            return await tokens.authenticate(presented, time.time())
        if not tokens.settings.accept_keys:
            raise invalid_token("Only OAuth access tokens are accepted (Authorization: Bearer <token>)")
        return self.resolver.identify(presented)


def _sdk_user(identity: Identity, _: None) -> AuthenticatedUser:
    principal = identity.principal
    token = AccessToken(token=principal.key_id, client_id=principal.key_id, scopes=list(principal.roles))
    return AuthenticatedUser(token)


def _credentials(scope: Scope, user_header: bytes) -> tuple[list[str], list[str], str | None]:
    """Every `Authorization` value, every gateway key header value and the first user header, in one pass
    over the headers (instead of one pass per header name)."""
    authorization: list[str] = []
    gateway_keys: list[str] = []
    user: str | None = None
    for name, value in scope.get("headers", ()):
        if name == user_header and user is None:
            user = value.decode("latin-1")
        if name == b"authorization":
            authorization.append(value.decode("latin-1"))
        elif name in KEY_HEADERS:
            gateway_keys.append(value.decode("latin-1"))
    return authorization, gateway_keys, user


def _presented_key(authorization: list[str], gateway_keys: list[str]) -> str:
    if gateway_keys:
        if len(gateway_keys) > 1:
            raise BadRequest("Send one key: several x-api-key / x-bf-vk headers were present")
        return gateway_keys[0].strip()
    if not authorization:
        raise key_required()
    if len(authorization) > 1:
        raise BadRequest("Send one key: several Authorization headers were present")
    scheme, _, token = authorization[0].strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <key>'", headers=challenge_headers("invalid_request"))
    return token.strip()


def presented_key(scope: Scope, user_header: bytes = b"x-mcp-user") -> str:
    """The one key a request presents (`Authorization: Bearer` or `x-api-key`); `GatewayError` otherwise."""
    authorization, api_keys, _ = _credentials(scope, user_header)
    return _presented_key(authorization, api_keys)
