"""From a presented key to an `Identity` (principal + access rule), for config and runtime keys alike.

Config keys are resolved once at start-up. Runtime keys are looked up in the key store and cached for
`auth.cache_seconds`; every change made through this process's admin endpoints clears the cache, so a
deactivated key is refused on its very next request here, and within `cache_seconds` elsewhere. A shared
store (`ReplicatedKeyStore`) already answers from memory and bounds its own staleness, so its lookups are
not cached again here (that would add `cache_seconds` to the delay); only the identity built from an
unchanged record is reused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..budget.config import BudgetConfig, Tier, TierBudget
from ..codemode.settings import merge_limit_overrides
from ..errors import NotAllowed, Unauthenticated
from ..patterns import PatternSet
from .access import PrincipalAccess
from .identity import Identity
from .key_record import KeyRecord
from .keys import hash_key, hashes_match
from .principal import Principal
from .replica import ReplicatedKeyStore
from .store import KeyStore

if TYPE_CHECKING:
    from ..config import GatewayConfig
    from .config import KeyConfig
    from .oauth.principals import TokenAuthenticator


class KeyResolver:
    def __init__(self, config: GatewayConfig, store: KeyStore, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._config = config
        self.store = store
        self._clock = clock
        self._key_limits = {k.name: k.code_mode_limits for k in config.keys if k.code_mode_limits}
        self._config_keys = {k.hash: self.identity(record_from_config(k)) for k in config.keys}
        self._cache: dict[str, tuple[float, Identity | None]] = {}
        self._identities: dict[str, Identity] = {}  # replicated stores: key hash → identity of its record
        self.user_header = config.auth.user_header
        self.tokens = self._tokens(config)  # OAuth access tokens (`auth.oauth`), None when not configured

    def reconfigure(self, config: GatewayConfig) -> None:
        """Take roles, teams, customers and the file's keys from `config` (a reloaded file); every identity
        is rebuilt on its next use."""
        self.config = self._config = config
        self._config_keys = {k.hash: self.identity(record_from_config(k)) for k in config.keys}
        self.invalidate()
        if self.tokens is not None and self.tokens.settings == config.auth.oauth:
            self.tokens.invalidate()  # same issuers: keep their keys, map the claims again
        else:
            self.tokens = self._tokens(config)

    def _tokens(self, config: GatewayConfig) -> TokenAuthenticator | None:
        if config.auth.oauth is None:
            return None
        from .oauth.principals import TokenAuthenticator  # JOSE and HTTP client loaded only when configured

        return TokenAuthenticator(config.auth.oauth, self)

    def authenticate(self, presented: str) -> Identity:
        """The identity of a presented key; `Unauthenticated` (401) or `NotAllowed` (403) otherwise."""
        identity = self.identify(presented)
        self.check_usable(identity)
        return identity

    def identify(self, presented: str) -> Identity:
        """The identity of a presented key, usable or not; `Unauthenticated` (401) when it is unknown."""
        return self.identify_hash(hash_key(presented))

    def identify_hash(self, key_hash: str) -> Identity:
        """`identify` for a key known only by its hash (the dashboard's session keeps the hash, never the
        key); the record is read again each time, so a deactivated key is seen as such at once."""
        identity = self._config_keys.get(key_hash) or self._runtime(key_hash)
        if identity is None or not hashes_match(identity.record.key_hash, key_hash):
            raise Unauthenticated("Unknown API key", headers=challenge_headers("invalid_token"))
        return identity

    def check_usable(self, identity: Identity) -> None:
        """`NotAllowed` (403) when the key is inactive or expired."""
        record = identity.record
        if not record.active:
            raise NotAllowed(f"Key '{record.name}' is inactive", extra={"key": record.name})
        if record.expires_at is not None and self._clock() >= record.expires_at:
            when = datetime.fromtimestamp(record.expires_at, UTC).isoformat()
            raise NotAllowed(f"Key '{record.name}' expired at {when}", extra={"key": record.name})

    def _runtime(self, key_hash: str) -> Identity | None:
        if isinstance(self.store, ReplicatedKeyStore):
            return self._replicated(key_hash)
        now = time.monotonic()
        cached = self._cache.get(key_hash)
        if cached is not None and cached[0] > now:
            return cached[1]
        record = self.store.lookup(key_hash)
        identity = self.identity(record) if record is not None else None
        self._cache[key_hash] = (now + self.config.auth.cache_seconds, identity)
        return identity

    def _replicated(self, key_hash: str) -> Identity | None:
        """Every lookup reads the replica (memory; it raises 503 when too old to trust)."""
        record = self.store.lookup(key_hash)
        if record is None:
            return None
        identity = self._identities.get(key_hash)
        if identity is None or identity.record is not record:
            identity = self._identities[key_hash] = self.identity(record)
        return identity

    def invalidate(self) -> None:
        self._cache.clear()
        self._identities.clear()

    def identity(self, record: KeyRecord) -> Identity:
        roles, teams = self.config.roles, self.config.teams
        team = teams.get(record.team) if record.team else None
        customer = record.customer or (team.customer if team else None)
        allow = [p for r in record.roles if r in roles for p in roles[r].grants()]
        allow += [*(team.allow if team else ()), *record.allow]
        deny = [*(team.deny if team else ()), *record.deny]
        principal = Principal(
            key_id=record.id,
            key_name=record.name,
            roles=record.roles,
            team=record.team,
            customer=customer,
            is_admin=any(roles[r].admin for r in record.roles if r in roles),
            budgets=self._budgets(record, customer),
            code_mode=record.code_mode or bool(team and team.code_mode),
            code_mode_limits=merge_limit_overrides(
                (roles[r].code_mode_limits for r in record.roles if r in roles),
                team.code_mode_limits if team else None,
                self._key_limits.get(record.name) if record.source == "config" else None,
            ),
        )
        return Identity(
            record, principal, PrincipalAccess(record.name, record.roles, PatternSet(allow), PatternSet(deny))
        )

    def _budgets(self, record: KeyRecord, customer: str | None) -> tuple[TierBudget, ...]:
        """The tiers every call of this key is charged to, customer first."""
        customer_config = self.config.customers.get(customer) if customer else None
        team_config = self.config.teams.get(record.team) if record.team else None
        candidates: list[tuple[Tier, str | None, BudgetConfig | None]] = [
            ("customer", customer, customer_config.budget if customer_config else None),
            ("team", record.team, team_config.budget if team_config else None),
            ("key", record.id, record.budget),
        ]
        return tuple(TierBudget(tier, id_, b) for tier, id_, b in candidates if id_ is not None and b is not None)

    @property
    def config_keys(self) -> Mapping[str, Identity]:
        return self._config_keys


def record_from_config(key: KeyConfig) -> KeyRecord:
    return KeyRecord(
        id=key.name,
        name=key.name,
        key_hash=key.hash,
        roles=tuple(key.roles),
        team=key.team,
        customer=key.customer,
        active=key.active,
        expires_at=key.expires_at.timestamp() if key.expires_at else None,
        allow=tuple(key.allow),
        deny=tuple(key.deny),
        budget=key.budget,
        code_mode=key.code_mode,
        source="config",
        created_at=0.0,
    )


def challenge_headers(error: str | None = None) -> dict[str, str]:
    """`WWW-Authenticate` for a 401 (RFC 6750)."""
    value = 'Bearer realm="mcp-guard"' + (f', error="{error}"' if error else "")
    return {"WWW-Authenticate": value}


def key_required() -> Unauthenticated:
    """The 401 of a request that presented no key."""
    return Unauthenticated(
        "An API key is required (x-api-key: <key> or Authorization: Bearer <key>)", headers=challenge_headers()
    )
