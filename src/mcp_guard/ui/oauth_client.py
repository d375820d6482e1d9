"""The dashboard as an OAuth 2.1 / OpenID Connect client of one issuer (`ui.oauth`): the authorization
request (code flow, PKCE S256, `state`, `nonce`, RFC 8707 `resource`), the code exchange at the token
endpoint, and the ID token's check. The endpoints come from the issuer's metadata, found as the resource
server finds its keys (`auth/oauth/jwks.py`); the access token is then checked by the resource server's own
`TokenAuthenticator`, not here.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx2
import jwt
from jwt import exceptions as jwt_errors

from ..auth.oauth.jwks import IssuerKeys, discover_metadata
from ..errors import BadRequest, ServiceUnavailable
from .settings import DashboardOAuth


@dataclass(frozen=True, slots=True)
class Attempt:
    """One login under way: what the callback must find again (kept server-side, never in a URL)."""

    state: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(64))  # PKCE code_verifier (86 chars)
    redirect_uri: str = ""

    @property
    def challenge(self) -> str:
        """The S256 code_challenge (RFC 7636 §4.2)."""
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class OAuthClient:
    def __init__(self, settings: DashboardOAuth, resource: str, keys: IssuerKeys, timeout: float) -> None:
        self.settings = settings
        self.resource = resource  # the audience the access token must carry (`auth.oauth`'s)
        self._keys = keys  # the issuer's signing keys, shared with the resource server
        self._timeout = timeout
        self._metadata: dict[str, Any] | None = None

    async def authorization_url(self, attempt: Attempt) -> str:
        endpoint = await self._endpoint("authorization_endpoint")
        query = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": attempt.redirect_uri,
            "scope": " ".join(self.settings.scopes),
            "state": attempt.state,
            "nonce": attempt.nonce,
            "code_challenge": attempt.challenge,
            "code_challenge_method": "S256",
            "resource": self.resource,
        }
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    async def exchange(self, code: str, attempt: Attempt) -> tuple[str, dict[str, Any] | None]:
        """The access token for `code`, and the ID token's verified claims when one came back; 400 when the
        issuer refuses the code, 503 when it cannot be reached."""
        endpoint = await self._endpoint("token_endpoint")
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": attempt.redirect_uri,
            "code_verifier": attempt.verifier,
            "resource": self.resource,
        }
        secret = self.settings.client_secret
        auth: dict[str, Any] = {"auth": (self.settings.client_id, secret)} if secret else {}
        if not secret:  # a public client names itself in the body (RFC 6749 §4.1.3)
            data["client_id"] = self.settings.client_id
        try:
            async with httpx2.AsyncClient(timeout=self._timeout, follow_redirects=False) as http:
                response = await http.post(endpoint, data=data, **auth)
                answer = response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            raise ServiceUnavailable(f"Cannot redeem the code at issuer {self.settings.issuer!r}: {exc}") from None
        if response.status_code != 200 or not isinstance(answer, dict):
            what = answer.get("error_description") or answer.get("error") if isinstance(answer, dict) else None
            raise BadRequest(f"The issuer refused the authorization code: {what or response.status_code}")
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise BadRequest("The issuer's token answer has no access_token")
        return token, await self._id_token(answer.get("id_token"), attempt)

    async def _id_token(self, id_token: Any, attempt: Attempt) -> dict[str, Any] | None:
        """With `openid` asked for, the ID token must come back signed by the issuer, for this client, with
        this attempt's nonce (a replayed or injected response has another)."""
        if "openid" not in self.settings.scopes:
            return None
        if not isinstance(id_token, str):
            raise BadRequest("The issuer's token answer has no id_token although 'openid' was asked for")
        try:
            header = jwt.get_unverified_header(id_token)
            algorithm = str(header.get("alg"))
            if algorithm not in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"):
                raise BadRequest(f"The ID token's algorithm {algorithm!r} is not accepted")
            key = await self._keys.key(header.get("kid"), algorithm)
            claims = jwt.decode(
                id_token,
                key,
                algorithms=[algorithm],
                audience=self.settings.client_id,
                issuer=self.settings.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt_errors.InvalidTokenError as exc:
            raise BadRequest(f"The ID token does not verify: {exc}") from None
        if claims.get("nonce") != attempt.nonce:
            raise BadRequest("The ID token's nonce is not the one this login sent")
        return claims

    async def _endpoint(self, name: str) -> str:
        if self._metadata is None:
            try:
                async with httpx2.AsyncClient(timeout=self._timeout, follow_redirects=False) as http:
                    self._metadata = await discover_metadata(http, self.settings.issuer)
            except (httpx2.HTTPError, ValueError) as exc:
                issuer = self.settings.issuer
                raise ServiceUnavailable(f"Cannot read the metadata of issuer {issuer!r}: {exc}") from None
        endpoint = self._metadata.get(name)
        if not isinstance(endpoint, str):
            raise ServiceUnavailable(f"The metadata of issuer {self.settings.issuer!r} names no {name}")
        return endpoint
