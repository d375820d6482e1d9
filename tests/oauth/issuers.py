"""Two authorization servers for the OAuth tests, both on 127.0.0.1:

- `OpenIDProvider`: the npm `oidc-provider` package (a certified OpenID provider) run by node from
  tests/node/oidc-provider.mjs; real RS256 / ES256 access tokens, dynamic client registration, the
  authorization code flow with PKCE (login and consent granted at once for the `login_hint` account).
- `TestIssuer`: an issuer whose metadata and JWKS the test controls (key rotation, a kid that is not
  published) and whose tokens the test mints, well-formed or not, with its own keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.node import NODE_DIR, ensure_node_modules, node_executable
from tests.support.processes import ServerProcess, free_port

CLIENT_SECRETS = {"es-client": "es-secret", "opaque-client": "opaque-secret", "rs-client": "rs-secret"}


class OpenIDProvider(ServerProcess):
    """`oidc-provider` for `resource`, with `accounts` (id → extra claims: email, groups, team)."""

    def __init__(
        self,
        resource: str,
        accounts: dict[str, dict[str, Any]],
        port: int | None = None,
        exchange_audiences: tuple[str, ...] = (),
        dashboard_redirects: tuple[str, ...] = (),
        sign_in_form: bool = False,
    ) -> None:
        """`exchange_audiences`: the upstream audiences the client `gateway` may exchange tokens for (RFC 8693);
        `dashboard_redirects`: the redirect URIs of the client `dashboard` (default: `/ui/oauth/callback` and
        `/mcp/ui/oauth/callback` at `resource`'s origin); `sign_in_form`: log in through a page with a button
        (for a browser) rather than at once."""
        port = port or free_port()
        env = {"PORT": str(port), "RESOURCE": resource, "ACCOUNTS": json.dumps(accounts)}
        env["TOKEN_EXCHANGE_AUDIENCES"] = ",".join(exchange_audiences)
        env["DASHBOARD_REDIRECT_URIS"] = ",".join(dashboard_redirects)
        env["SIGN_IN_FORM"] = "1" if sign_in_form else ""
        super().__init__([node_executable(), str(NODE_DIR / "oidc-provider.mjs")], port=port, path="", env=env)
        ensure_node_modules()

    @property
    def issuer(self) -> str:
        return self.base_url

    async def client_credentials_token(self, resource: str, client: str = "es-client") -> str:
        """An access token for `resource` issued to `client` (its claims: `accounts[client]`): ES256 for
        `es-client`, opaque for `opaque-client`, RS256 for `rs-client`."""
        async with httpx2.AsyncClient() as http:
            response = await http.post(
                f"{self.issuer}/token",
                data={"grant_type": "client_credentials", "resource": resource, "scope": "notes:read"},
                auth=(client, CLIENT_SECRETS[client]),
            )
        response.raise_for_status()
        return str(response.json()["access_token"])

    async def revoke(self, token: str, client: str) -> None:
        """RFC 7009 revocation by the token's client."""
        async with httpx2.AsyncClient() as http:
            response = await http.post(
                f"{self.issuer}/token/revocation", data={"token": token}, auth=(client, CLIENT_SECRETS[client])
            )
        response.raise_for_status()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SigningKey:
    """A key pair the test holds: an RSA (RS256) or P-256 (ES256) private key and its public JWK."""

    def __init__(self, alg: str = "RS256", kid: str | None = None) -> None:
        self.alg = alg
        self.kid = kid or uuid.uuid4().hex[:12]
        if alg == "ES256":
            self.private: Any = ec.generate_private_key(ec.SECP256R1())
        else:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.algorithms.ECAlgorithm if self.alg == "ES256" else jwt.algorithms.RSAAlgorithm
        return {**algorithm.to_jwk(self.private.public_key(), as_dict=True), "kid": self.kid, "alg": self.alg}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class TestIssuer:
    """An issuer at `http://127.0.0.1:<port>` publishing RFC 8414 metadata and the JWKS of `published`."""

    __test__ = False  # not a pytest class

    def __init__(self) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.published: list[SigningKey] = [SigningKey("RS256")]
        self.jwks_requests = 0

    @property
    def key(self) -> SigningKey:
        return self.published[0]

    def claims(self, audience: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": "bob", "aud": audience, "iat": now, "exp": now + 300}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(self, claims: dict[str, Any], key: SigningKey | None = None, **header: Any) -> str:
        key = key or self.key
        return jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid, **header})

    def unsigned(self, claims: dict[str, Any]) -> str:
        """`alg: none`, no signature (RFC 7519 §6)."""
        return _compact({"alg": "none", "typ": "JWT", "kid": self.key.kid}, claims, lambda _: b"")

    def hs256_with_public_key(self, claims: dict[str, Any]) -> str:
        """HS256 whose HMAC secret is the published public key: forgeable by anyone who reads the JWKS."""
        secret = self.key.public_pem()
        header = {"alg": "HS256", "typ": "JWT", "kid": self.key.kid}
        return _compact(header, claims, lambda signed: hmac.new(secret, signed, hashlib.sha256).digest())

    def _app(self) -> Starlette:
        async def metadata(request: Request) -> JSONResponse:
            return JSONResponse({"issuer": self.issuer, "jwks_uri": f"{self.issuer}/jwks"})

        async def jwks(request: Request) -> JSONResponse:
            self.jwks_requests += 1
            return JSONResponse({"keys": [key.jwk() for key in self.published]})

        return Starlette(routes=[Route("/.well-known/oauth-authorization-server", metadata), Route("/jwks", jwks)])

    @asynccontextmanager
    async def running(self) -> AsyncIterator[TestIssuer]:
        config = uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        async with anyio.create_task_group() as group:
            group.start_soon(server.serve)
            with anyio.fail_after(10):
                while not server.started:
                    await anyio.sleep(0.01)
            try:
                yield self
            finally:
                server.should_exit = True


def _compact(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:
    signed = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signed}.{_b64(sign(signed.encode()))}"
