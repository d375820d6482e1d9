"""From a verified token's claims to an `Identity`: the same principal and access rule a key with those
roles and that team would have, built by the same `KeyResolver.identity` (one governance, two credentials).

A token user's `key_id` is `<issuer>#<sub>` (so the audit records, rate limits and per-user budgets name the
issuer as well as the user), its `key_name` the user claim (`email` or `sub` by default). Grants come from
the roles its groups map to, its team, and the tools its scopes map to; nothing else: deny by default.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Protocol

from ...caches import _ENTRY_OVERHEAD, BoundedMemo
from ...errors import GatewayError, NotAllowed
from ...names import Ref
from ...patterns import PatternSet
from ..access import PrincipalAccess
from ..identity import Identity
from ..key_record import KeyRecord
from ..keys import KEY_PREFIX
from .challenge import insufficient_scope, invalid_token
from .config import OAuthSettings
from .verifier import TokenVerifier

if TYPE_CHECKING:
    from ...config import GatewayConfig

_TOKEN_ENTRY_BYTES = 300  # a cached token's entry besides the token itself (identities are shared per user)


class KeyIdentities(Protocol):
    """What builds a key record's identity under the gateway's roles and teams (`KeyResolver`, which creates
    the authenticator): taken as this protocol so the resolver is the only one importing the other."""

    config: GatewayConfig

    def identity(self, record: KeyRecord) -> Identity: ...


class TokenAuthenticator:
    """Verified tokens → identities, each token verified once and reused until it expires."""

    def __init__(self, settings: OAuthSettings, resolver: KeyIdentities, *, verifier: TokenVerifier | None = None):
        self.settings = settings
        self.resolver = resolver
        self.verifier = verifier or TokenVerifier(settings)
        self._tokens: BoundedMemo[str, tuple[Identity, float]] | None = (
            BoundedMemo(settings.token_cache_bytes, _token_weight) if settings.token_cache_bytes else None
        )
        # One identity per distinct user and grants, so PrincipalAccess's per-tool cache serves all their tokens.
        self._identities: BoundedMemo[tuple[Any, ...], Identity] = BoundedMemo(1 << 20)
        self._scope_grants = {scope: PatternSet(p) for scope, p in settings.claims.scopes.items()}

    def invalidate(self) -> None:
        """Forget identities (roles or teams changed); tokens are mapped again on their next use."""
        self._identities = BoundedMemo(1 << 20)
        if self._tokens is not None:
            self._tokens = BoundedMemo(self.settings.token_cache_bytes, _token_weight)

    async def authenticate(self, token: str, now: float) -> Identity:
        if self._tokens is not None:
            cached = self._tokens.lookup(token)
            if cached is not None and now < cached[1]:
                return cached[0]
        if is_jwt(token):
            claims = await self.verifier.verify(token)
            until = float(claims["exp"]) + self.settings.leeway_seconds
        else:
            claims, until = await self.verifier.introspect(token)
        identity = self.identity(claims)
        if self._tokens is not None:
            self._tokens.remember(token, (identity, until))
        return identity

    async def verified_claims(self, token: str) -> dict[str, Any]:
        """The claims of a valid token (a JWT verified, an opaque token introspected), uncached: for a caller
        that keeps them itself (the dashboard's session)."""
        if is_jwt(token):
            return await self.verifier.verify(token)
        return (await self.verifier.introspect(token))[0]

    def takes(self, credential: str) -> bool:
        """Whether a Bearer credential is checked as a token: a JWT; any credential but a virtual key when
        an issuer introspects opaque tokens; any credential at all when keys are not accepted."""
        if is_jwt(credential) or not self.settings.accept_keys:
            return True
        return bool(self.verifier.introspectors) and not credential.startswith(KEY_PREFIX)

    def identity(self, claims: dict[str, Any]) -> Identity:
        mapping = self.settings.claims
        user = next((claims[c] for c in mapping.user if isinstance(claims.get(c), str) and claims[c]), None)
        if user is None:
            raise invalid_token(f"The token names no user (looked for {', '.join(mapping.user)})")
        # the subject; a client's own token (client credentials) may name only its client (RFC 7662 §2.2)
        subject = next((claims[c] for c in ("sub", "client_id") if isinstance(claims.get(c), str)), user)
        roles = self._roles(claims)
        team = claims.get(mapping.team) if mapping.team else None
        team = team if isinstance(team, str) and team else None
        scopes = _scopes(claims)
        allow = tuple(p for s in scopes if s in mapping.scopes for p in mapping.scopes[s])
        key = (claims["iss"], subject, user, roles, team, allow)
        identity = self._identities.lookup(key)
        if identity is None:
            record = KeyRecord(
                name=user, key_hash="", id=f"{claims['iss']}#{subject}", roles=roles, team=team,
                allow=allow, budget=self.settings.user_budget, source="oauth", created_at=0.0,
            )  # fmt: skip
            base = self.resolver.identity(record)
            identity = Identity(base.record, base.principal, ScopedAccess(base.access, self))
            self._identities.remember(key, identity)
        return identity

    def _roles(self, claims: dict[str, Any]) -> tuple[str, ...]:
        mapping = self.settings.claims
        if mapping.roles is None:
            return ()
        value = claims.get(mapping.roles)
        if isinstance(value, str):
            groups = [value]
        elif isinstance(value, list):
            groups = [g for g in value if isinstance(g, str)]
        else:  # absent, or not a group list (a number, an object): no group
            groups = []
        if mapping.role_map:
            roles = [r for g in groups for r in mapping.role_map.get(g, ())]
        else:
            roles = [g for g in groups if g in self.resolver.config.roles]
        return tuple(dict.fromkeys(roles))

    def scopes_granting(self, ref: Ref) -> list[str]:
        """The scopes whose grants include `ref` (what a 403 asks for), else every supported scope."""
        granting = [scope for scope, patterns in self._scope_grants.items() if patterns.matches(ref)]
        return granting or list(self.settings.scopes_supported)


class ScopedAccess(PrincipalAccess):
    """A token user's access rule: the key rule, whose refusals carry the `insufficient_scope` challenge."""

    __slots__ = ("_authenticator",)

    def __init__(self, base: PrincipalAccess, authenticator: TokenAuthenticator) -> None:
        super().__init__(base.key_name, base.roles, base._allow, base._deny)
        self._authenticator = authenticator

    def denial(self, ref: Ref) -> GatewayError:
        error = super().denial(ref)
        if not isinstance(error, NotAllowed):
            return error
        scopes = self._authenticator.scopes_granting(ref)
        return insufficient_scope(error, scopes, self._authenticator.settings.resource)


def is_jwt(credential: str) -> bool:
    """Three dot-separated parts and not a virtual key: a JWS compact serialisation (RFC 7515 §7.1)."""
    return credential.count(".") == 2 and not credential.startswith(KEY_PREFIX)


def _scopes(claims: dict[str, Any]) -> list[str]:
    """`scope` (RFC 9068: space-separated) or `scp` (Entra ID, Okta: a list or a string)."""
    value = claims.get("scope", claims.get("scp"))
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [s for s in value if isinstance(s, str)]
    return []


def _token_weight(token: str, _value: Any) -> int:
    return _ENTRY_OVERHEAD + sys.getsizeof(token) + _TOKEN_ENTRY_BYTES
