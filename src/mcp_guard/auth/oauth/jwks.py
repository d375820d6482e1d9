"""An issuer's signing keys: found through its metadata, cached, refetched when a token names a new key.

Discovery follows RFC 8414 (`/.well-known/oauth-authorization-server`, inserted before the issuer's path)
and falls back to OpenID Connect Discovery (`<issuer>/.well-known/openid-configuration`); the metadata must
name the same issuer (RFC 8414 §3.3), or a document served elsewhere could substitute its keys.

Keys are kept for `jwks_cache_seconds`. A token whose `kid` is not among them triggers one refetch (the
issuer rotated its keys), but at most one per `jwks_refetch_seconds`: made-up `kid`s cannot turn the gateway
into a request amplifier against the identity provider. Concurrent misses share one fetch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from ...errors import ServiceUnavailable
from .challenge import invalid_token

_MAX_DOCUMENT_BYTES = 1_000_000


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer's metadata may be, in the order RFC 8414 and the MCP authorization spec try them."""
    parts = urlsplit(issuer)
    origin, path = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
    urls = [f"{origin}/.well-known/oauth-authorization-server{path}"]
    if path:
        urls.append(f"{origin}/.well-known/openid-configuration{path}")
    urls.append(f"{issuer.rstrip('/')}/.well-known/openid-configuration")
    return urls


class IssuerKeys:
    """The public keys of one issuer, by `kid`."""

    def __init__(
        self,
        issuer: str,
        *,
        jwks_uri: str | None = None,
        cache_seconds: float = 3600,
        refetch_seconds: float = 30,
        timeout: float = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self._jwks_uri = jwks_uri
        self._cache_seconds = cache_seconds
        self._refetch_seconds = refetch_seconds
        self._timeout = timeout
        self._clock = clock
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None
        self._lock = anyio.Lock()
        self.fetches = 0  # how many times the keys were fetched (tests and metrics read it)

    async def key(self, kid: str | None, algorithm: str) -> PyJWK:
        """The key a token names, bound to the token's (already allowed) algorithm."""
        if self._stale():
            await self._refresh(force=False)
        jwk = self._find(kid)
        if jwk is None and self._may_refetch():
            await self._refresh(force=True)
            jwk = self._find(kid)
        if jwk is None:
            raise invalid_token(f"The token's signing key {kid!r} is not among the keys of issuer {self.issuer!r}")
        if jwk.get("alg") not in (None, algorithm):
            raise invalid_token(f"Key {kid!r} of issuer {self.issuer!r} is for {jwk['alg']}, not {algorithm}")
        try:
            return PyJWK(jwk, algorithm=algorithm)
        except PyJWKError:
            raise invalid_token(f"Key {kid!r} of issuer {self.issuer!r} cannot verify {algorithm}") from None

    def _find(self, kid: str | None) -> dict[str, Any] | None:
        if kid is None:  # allowed only when the issuer publishes a single key
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._cache_seconds

    def _may_refetch(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._refetch_seconds

    async def _refresh(self, *, force: bool) -> None:
        fetched_before = self._fetched_at
        async with self._lock:
            if self._fetched_at != fetched_before:
                return  # another request fetched them while this one waited
            if not force and not self._stale():
                return
            try:
                async with httpx2.AsyncClient(timeout=self._timeout, follow_redirects=False) as http:
                    uri = self._jwks_uri or await self._discover(http)
                    self._keys = _keys_by_id(await get_json(http, uri))
            except (httpx2.HTTPError, ValueError) as exc:
                if self._keys:  # keep serving the keys known so far; try again after the refetch interval
                    self._fetched_at = self._clock()
                    return
                raise ServiceUnavailable(f"Cannot fetch the signing keys of issuer {self.issuer!r}: {exc}") from None
            self._fetched_at = self._clock()
            self.fetches += 1

    async def _discover(self, http: httpx2.AsyncClient) -> str:
        uri = (await discover_metadata(http, self.issuer)).get("jwks_uri")
        if not isinstance(uri, str):
            raise ValueError(f"the metadata of issuer {self.issuer!r} has no jwks_uri")
        self._jwks_uri = uri
        return uri


async def discover_metadata(http: httpx2.AsyncClient, issuer: str) -> dict[str, Any]:
    """The issuer's authorization server metadata, from the first of `metadata_urls` that answers."""
    for url in metadata_urls(issuer):
        try:
            metadata = await get_json(http, url)
        except ValueError:
            continue
        if metadata.get("issuer") != issuer:
            raise ValueError(f"metadata at {url} names issuer {metadata.get('issuer')!r}")
        return metadata
    raise ValueError(f"no authorization server metadata at {', '.join(metadata_urls(issuer))}")


async def get_json(http: httpx2.AsyncClient, url: str) -> dict[str, Any]:
    response = await http.get(url, headers={"accept": "application/json"})
    if response.status_code != 200:
        raise ValueError(f"GET {url} answered {response.status_code}")
    if len(response.content) > _MAX_DOCUMENT_BYTES:
        raise ValueError(f"GET {url} answered a document over {_MAX_DOCUMENT_BYTES} bytes")
    document = response.json()
    if not isinstance(document, dict):
        raise ValueError(f"GET {url} answered JSON that is not an object")
    return document


def _keys_by_id(jwks: dict[str, Any]) -> dict[str, dict[str, Any]]:
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        raise ValueError("the JWKS has no 'keys' list")
    usable = [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]
    return {str(k.get("kid", index)): k for index, k in enumerate(usable)}


__all__ = ["IssuerKeys", "discover_metadata", "get_json", "metadata_urls"]
