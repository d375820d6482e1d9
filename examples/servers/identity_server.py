"""Identity: a small example MCP server (streamable HTTP) that acts as whoever its bearer token names.

It stands in for an upstream such as GitHub or Jira that serves each user as themselves: every request
must carry `Authorization: Bearer <token>` with one of the tokens it was started with, or it is refused
with 401 before MCP sees it. Its tool `whoami` answers the user that token belongs to and the
authorization header exactly as received, so a test can check which credential reached it.

Tokens are `token=user` pairs, from `--token` (repeatable) or `IDENTITY_TOKENS` (comma-separated):

    IDENTITY_TOKENS="svc-token=catalog,alice-token=alice" \
        python examples/servers/identity_server.py --port 8010   # http://127.0.0.1:8010/mcp

`--accept-jwt ISSUER` also accepts JWTs signed by that issuer (its JWKS read from the issuer's OpenID
metadata) whose audience is `--audience` (default: this server's URL): the user is the token's `sub`.
That is how a token obtained by OAuth token exchange is checked.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.request
from collections.abc import Sequence
from typing import Any

import jwt
import uvicorn
from mcp.server.mcpserver import Context, MCPServer

Scope = dict[str, Any]


def build_server() -> MCPServer:
    server = MCPServer("identity")

    @server.tool()
    def whoami(ctx: Context) -> dict[str, str | None]:
        """The user this call's bearer token belongs to, and the authorization header as received."""
        headers = {name.lower(): value for name, value in (ctx.headers or {}).items()}
        return {"user": headers.get("x-identity-user"), "authorization": headers.get("authorization")}

    return server


class BearerGate:
    """Refuse (401) any request whose bearer token is not a known one; tell the app who it is as the
    `x-identity-user` header (replacing any the client sent)."""

    def __init__(self, app: Any, tokens: dict[str, str], jwt_check: JwtCheck | None = None) -> None:
        self.app, self.tokens, self.jwt_check = app, tokens, jwt_check

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope["headers"] if k != b"x-identity-user"]
        given = dict(headers).get(b"authorization", b"").decode("latin-1")
        token = given[7:] if given[:7].lower() == "bearer " else ""
        user = self.tokens.get(token) or (self.jwt_check.user(token) if self.jwt_check and token else None)
        if user is None:
            await _refuse(send)
            return
        scope = {**scope, "headers": [*headers, (b"x-identity-user", user.encode())]}
        await self.app(scope, receive, send)


class JwtCheck:
    """JWTs of one issuer for one audience; the user is the `sub`."""

    def __init__(self, issuer: str, audience: str) -> None:
        with urllib.request.urlopen(issuer.rstrip("/") + "/.well-known/openid-configuration") as answer:
            jwks_uri = json.load(answer)["jwks_uri"]
        self.keys = jwt.PyJWKClient(jwks_uri)
        self.issuer, self.audience = issuer, audience

    def user(self, token: str) -> str | None:
        try:
            key = self.keys.get_signing_key_from_jwt(token).key
            claims = jwt.decode(token, key, algorithms=["RS256", "ES256"], audience=self.audience, issuer=self.issuer)
        except jwt.PyJWTError:
            return None
        return str(claims.get("sub")) if claims.get("sub") else None


async def _refuse(send: Any) -> None:
    body = b'{"error":"invalid_token","error_description":"a known bearer token is required"}'
    headers = [(b"content-type", b"application/json"), (b"www-authenticate", b'Bearer error="invalid_token"')]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def parse_tokens(pairs: Sequence[str]) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for pair in pairs:
        token, _, user = pair.strip().partition("=")
        if token and user:
            tokens[token] = user
    return tokens


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--token", action="append", default=[], metavar="TOKEN=USER")
    parser.add_argument("--accept-jwt", metavar="ISSUER")
    parser.add_argument("--audience")
    args = parser.parse_args(argv)
    tokens = parse_tokens([*os.environ.get("IDENTITY_TOKENS", "").split(","), *args.token])
    audience = args.audience or f"http://{args.host}:{args.port}/mcp"
    check = JwtCheck(args.accept_jwt, audience) if args.accept_jwt else None
    app = BearerGate(build_server().streamable_http_app(), tokens, check)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
