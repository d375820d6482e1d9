"""The `WWW-Authenticate` challenges of a resource server (RFC 6750 §3, RFC 9728 §5.1).

Every 401 names the protected-resource metadata, so an MCP client finds the authorization server from the
refusal alone; a 403 for a tool the token's scopes do not reach says `insufficient_scope` and which scope
would."""

from __future__ import annotations

from urllib.parse import urlsplit

from ...errors import GatewayError, NotAllowed, Unauthenticated

WELL_KNOWN = "/.well-known/oauth-protected-resource"


def metadata_url(resource: str) -> str:
    """The RFC 9728 §3.1 metadata URL of a resource: the well-known path inserted before its path."""
    parts = urlsplit(resource)
    return f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}{parts.path.rstrip('/')}"


def metadata_path(resource: str) -> str:
    """The path part of `metadata_url`, which the gateway answers."""
    return WELL_KNOWN + urlsplit(resource).path.rstrip("/")


def _quoted(text: str) -> str:
    """A quoted-string that stays one header parameter: no quotes, backslashes or control characters."""
    cleaned = "".join(c if c.isprintable() and c not in '"\\' else " " for c in text)
    return f'"{cleaned}"'


def bearer(**params: str | None) -> str:
    """`Bearer realm="mcp-guard", name="value", ...` for the parameters given (None ones left out)."""
    parts = [f"{name}={_quoted(value)}" for name, value in {"realm": "mcp-guard", **params}.items() if value]
    return "Bearer " + ", ".join(parts)


def invalid_token(description: str) -> Unauthenticated:
    """A 401 for a token that is not acceptable, saying why (the middleware adds `resource_metadata`)."""
    header = bearer(error="invalid_token", error_description=description)
    return Unauthenticated(description, headers={"WWW-Authenticate": header})


def insufficient_scope(error: NotAllowed, scopes: list[str], resource: str) -> NotAllowed:
    """`error` with the RFC 6750 §3.1 challenge naming the scopes that would allow the request."""
    header = bearer(
        error="insufficient_scope",
        scope=" ".join(scopes) or None,
        resource_metadata=metadata_url(resource),
        error_description=error.message,
    )
    return NotAllowed(error.message, headers={**error.headers, "WWW-Authenticate": header}, extra=error.extra)


def pointing_to_metadata(error: GatewayError, resource: str) -> GatewayError:
    """A 401 whose challenge also carries `resource_metadata` (its other parameters kept)."""
    if error.status != 401:
        return error
    current = error.headers.get("WWW-Authenticate", 'Bearer realm="mcp-guard"')
    if "resource_metadata=" in current:
        return error
    scheme, _, params = current.partition(" ")
    extra = f'resource_metadata="{metadata_url(resource)}"'
    error.headers["WWW-Authenticate"] = f"{scheme} {params}, {extra}" if params else f"{scheme} {extra}"
    return error
