"""`CredentialService`: the gateway's per-user upstream tokens: linking, unlinking, listing (the admin
API), and the token a call to a per-user server carries (`token`).

`stored` servers: the user's token, opened from the store by the vault. `token_exchange` servers: a token
for the server's audience, exchanged at the identity provider for the caller's access token (RFC 8693,
`exchange.py`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import anyio

from ..config import ServerConfig
from ..errors import ConfigError, ServiceUnavailable
from .config import CredentialSettings
from .errors import missing
from .exchange import TokenExchanger
from .store import CredentialStore, StoredCredential, credential, open_credential_store
from .vault import Vault

if TYPE_CHECKING:
    from ..state import RequestState


CACHE_SECONDS = 1.0  # how stale a stored credential (or its absence) may be when another process changed it


class CredentialService:
    def __init__(self, settings: CredentialSettings, default_store: str) -> None:
        self.settings = settings
        self.store_url = settings.store or default_store
        self._store: CredentialStore | None = None
        self._vault: Vault | None = None
        self._opening = anyio.Lock()
        # (server, user) → (the token or None, when read): a call does not read the store each time
        self._cache: dict[tuple[str, str], tuple[str | None, float]] = {}
        self.exchanger = TokenExchanger(settings.token_exchange) if settings.token_exchange else None

    @staticmethod
    def check_servers(settings: CredentialSettings, servers: list[ServerConfig]) -> None:
        """At start and reload: per-user servers need a key, and a transport that carries a header."""
        marked = [server for server in servers if server.credentials is not None]
        for server in marked:
            if server.transport not in ("http", "sse"):
                raise ConfigError(
                    f"servers.{server.name}.credentials: only http and sse servers take a per-user credential"
                )
            if server.credentials and server.credentials.mode == "token_exchange" and not settings.token_exchange:
                raise ConfigError(
                    f"servers.{server.name}.credentials.mode: token_exchange needs credentials.token_exchange "
                    "(the identity provider's token endpoint and the gateway's client there)"
                )
        if any(server.credentials and server.credentials.mode == "stored" for server in marked):
            Vault.from_settings(settings)  # a missing or bad key is a start-up error, not a first-call one

    async def _opened(self) -> tuple[CredentialStore, Vault]:
        async with self._opening:
            if self._store is None or self._vault is None:
                self._vault = Vault.from_settings(self.settings)
                self._store = await anyio.to_thread.run_sync(open_credential_store, self.store_url)
        return self._store, self._vault

    async def token(self, server: ServerConfig, user: str, state: RequestState) -> str:
        """The token `user`'s calls to `server` carry; `CredentialRequired` naming how to link one."""
        if server.credentials is not None and server.credentials.mode == "token_exchange":
            if self.exchanger is None:
                raise ServiceUnavailable(f"Server '{server.name}': credentials.token_exchange is not configured")
            principal = state.principal
            return await self.exchanger.token(server, principal.key_id if principal else "", state.access_token)
        key = (server.name, user)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached[1] < CACHE_SECONDS:
            token = cached[0]
        else:
            token = await self._stored(server.name, user)
            if len(self._cache) >= 100_000:  # bounded: cleared wholesale, it refills from the store
                self._cache.clear()
            self._cache[key] = (token, time.monotonic())
        if token is None:
            raise missing(server.name, user)
        return token

    async def _stored(self, server: str, user: str) -> str | None:
        store, vault = await self._opened()
        found = await store.get(server, user)
        if found is None:
            return None
        try:
            return vault.open(found.sealed)
        except ValueError as exc:
            raise ServiceUnavailable(f"Server '{server}': {exc}") from None

    async def link(self, server: str, user: str, token: str, by: str) -> StoredCredential:
        store, vault = await self._opened()
        record = credential(server, user, vault.seal(token), by)
        await store.put(record)
        self._cache.pop((server, user), None)
        return record

    async def unlink(self, server: str, user: str) -> bool:
        store, _ = await self._opened()
        self._cache.pop((server, user), None)
        return await store.delete(server, user)

    async def linked(self, server: str) -> list[StoredCredential]:
        store, _ = await self._opened()
        return await store.list(server)
