"""RFC 7662 token introspection: an opaque access token (not a JWT) is checked by asking its issuer.

The gateway authenticates to the introspection endpoint as a confidential client (HTTP Basic). An answer
counts only when `active` is true and its `aud` names this resource (RFC 8707): an opaque token issued for
another API is refused like a JWT for another audience. Answers are cached by the caller
(`TokenAuthenticator`) for `cache_seconds` at most, never past the token's `exp`, so a revoked token stops
working within that time.
"""

from __future__ import annotations

import time
from typing import Any

import httpx2

from ...errors import ServiceUnavailable
from .challenge import invalid_token
from .config import IssuerConfig
from .jwks import discover_metadata


class Introspector:
    """Asks one issuer about opaque tokens."""

    def __init__(self, issuer: IssuerConfig, audience: str, timeout: float) -> None:
        if issuer.introspection is None:
            raise ValueError(f"issuer {issuer.issuer!r} has no introspection settings")
        self.issuer = issuer.issuer
        self.settings = issuer.introspection
        self._endpoint = issuer.introspection.endpoint
        self._audience = audience
        self._timeout = timeout

    async def introspect(self, token: str) -> tuple[dict[str, Any], float] | None:
        """The token's claims and until when they may be reused; None when the issuer says it is not active."""
        answer = await self._ask(token)
        if answer.get("active") is not True:
            return None
        audiences = answer.get("aud")
        audiences = [audiences] if isinstance(audiences, str) else audiences or []
        if self._audience not in audiences:
            raise invalid_token(f"The token's audience {answer.get('aud')!r} is not this resource ({self._audience!r})")
        if answer.get("iss", self.issuer) != self.issuer:
            return None  # another issuer's token that this one happens to know: not ours to accept
        claims = {**answer, "iss": self.issuer}
        exp = answer.get("exp")
        until = time.time() + self.settings.cache_seconds
        return claims, min(until, float(exp)) if isinstance(exp, int | float) else until

    async def _ask(self, token: str) -> dict[str, Any]:
        auth = (self.settings.client_id, self.settings.client_secret)
        try:
            async with httpx2.AsyncClient(timeout=self._timeout, follow_redirects=False) as http:
                endpoint = self._endpoint or await self._discover(http)
                response = await http.post(
                    endpoint, data={"token": token, "token_type_hint": "access_token"}, auth=auth
                )
                if response.status_code != 200:
                    raise ValueError(f"POST {endpoint} answered {response.status_code}")
                answer = response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            raise ServiceUnavailable(f"Cannot introspect the token at issuer {self.issuer!r}: {exc}") from None
        if not isinstance(answer, dict):
            raise ServiceUnavailable(f"The introspection answer of issuer {self.issuer!r} is not a JSON object")
        return answer

    async def _discover(self, http: httpx2.AsyncClient) -> str:
        endpoint = (await discover_metadata(http, self.issuer)).get("introspection_endpoint")
        if not isinstance(endpoint, str):
            raise ValueError("its metadata names no introspection_endpoint")
        self._endpoint = endpoint
        return endpoint


__all__ = ["Introspector"]
