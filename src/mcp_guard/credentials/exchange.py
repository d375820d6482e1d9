"""OAuth 2.0 Token Exchange (RFC 8693) at the identity provider: the caller's access token (the subject
token) for a token whose audience is one upstream.

The subject token goes only to the token endpoint of the issuer that issued it (`token_exchange.issuer`);
the upstream gets the exchanged token. Exchanged tokens are cached per (server, subject token) until a
little before they expire, so a session's calls do not each cost a round trip to the IdP; the cache is
bounded and keyed by the subject token's hash.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import OrderedDict

import httpx2

from ..config import ServerConfig
from ..errors import NotAllowed, ServiceUnavailable
from .config import TokenExchangeSettings

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
EXPIRY_MARGIN = 30.0  # seconds before its expiry an exchanged token is no longer handed out
DEFAULT_LIFETIME = 300.0  # when the IdP does not say (`expires_in`)
MAX_CACHED = 10_000


class TokenExchanger:
    def __init__(self, settings: TokenExchangeSettings) -> None:
        self.settings = settings
        self._cache: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()

    async def token(self, server: ServerConfig, principal_id: str, subject_token: str | None) -> str:
        """A token for `server`'s audience on behalf of the caller; 403 when the caller has no token of the
        configured issuer, 503 naming the IdP's answer when the exchange fails."""
        settings = self.settings
        if subject_token is None or not principal_id.startswith(settings.issuer + "#"):
            raise NotAllowed(
                f"Server '{server.name}' acts as each user through token exchange at {settings.issuer}: "
                f"call it with an access token of that issuer"
            )
        key = (server.name, hashlib.sha256(subject_token.encode()).hexdigest())
        cached = self._cache.get(key)
        if cached is not None and cached[1] - EXPIRY_MARGIN > time.time():
            self._cache.move_to_end(key)
            return cached[0]
        token, expires_at = await self._exchange(server, subject_token)
        self._cache[key] = (token, expires_at)
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)
        return token

    async def _exchange(self, server: ServerConfig, subject_token: str) -> tuple[str, float]:
        settings = self.settings
        assert server.credentials is not None
        form = {
            "grant_type": GRANT_TYPE,
            "subject_token": subject_token,
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "requested_token_type": ACCESS_TOKEN_TYPE,
            "audience": server.credentials.audience or server.url or "",
        }
        if server.credentials.scope:
            form["scope"] = server.credentials.scope
        secret = os.environ.get(settings.client_secret_env, "") if settings.client_secret_env else ""
        try:
            async with httpx2.AsyncClient(timeout=settings.timeout, follow_redirects=False) as http:
                response = await http.post(settings.token_endpoint, data=form, auth=(settings.client_id, secret))
            answer = response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            raise ServiceUnavailable(f"Token exchange for server '{server.name}' failed: {exc}") from None
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if response.status_code != 200 or not isinstance(token, str):
            said = answer.get("error_description") or answer.get("error") if isinstance(answer, dict) else None
            message = (
                f"Token exchange for server '{server.name}' was refused by the identity provider "
                f"({response.status_code}: {said or 'no access_token'})"
            )
            # 400 is the IdP's "not for this caller" (invalid_grant, invalid_target); anything else is it failing
            raise (NotAllowed if response.status_code == 400 else ServiceUnavailable)(message)
        lifetime = answer.get("expires_in")
        lifetime = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else DEFAULT_LIFETIME
        return token, time.time() + lifetime
