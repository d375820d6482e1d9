"""What an upstream's failure means to the gateway: its JSON-RPC errors as `GatewayError`s, any failure
as one line of text."""

from __future__ import annotations

from mcp import MCPError
from mcp_types import CONNECTION_CLOSED, INVALID_PARAMS, METHOD_NOT_FOUND, REQUEST_TIMEOUT, URL_ELICITATION_REQUIRED

from ..errors import BadRequest, NotFound, UpstreamError, UpstreamTimeout, UrlElicitationRequired

RESOURCE_NOT_FOUND = -32002  # handshake era (2026-07-28 retired it for -32602)


def failure(server: str, timeout: float, subject: str, action: str, exc: MCPError) -> Exception:
    """The gateway's error for `server`'s JSON-RPC error answering `action` (`subject` starts a timeout's
    message: "Tool 'notes/echo'")."""
    if exc.code == REQUEST_TIMEOUT:
        return UpstreamTimeout(f"{subject} did not answer within {timeout:g} s")
    if exc.code == INVALID_PARAMS:
        return BadRequest(f"Upstream '{server}' rejected {action}: {exc.message}")
    if exc.code == URL_ELICITATION_REQUIRED:
        data = exc.error.data if isinstance(exc.error.data, dict) else {}
        message = f"Upstream '{server}' needs the user to complete a URL elicitation before {action}"
        elicitations = data.get("elicitations", [])
        return UrlElicitationRequired(f"{message}: {exc.message}", server=server, elicitations=elicitations)
    if exc.code in (RESOURCE_NOT_FOUND, METHOD_NOT_FOUND):
        return NotFound(f"Upstream '{server}' answered {action}: {exc.message}")
    if exc.code == CONNECTION_CLOSED:
        return UpstreamError(f"Upstream '{server}' closed the connection during {action}")
    return UpstreamError(f"Upstream '{server}' failed {action}: {exc.message}")


def is_closed(exc: BaseException) -> bool:
    return isinstance(exc, MCPError) and exc.code == CONNECTION_CLOSED


def describe(exc: BaseException, *, bare: tuple[type[BaseException], ...] = ()) -> str:
    """A one-line cause, unwrapping the exception groups the SDK's task groups produce; `MCPError`s and the
    `bare` types are told by their message alone, others with their type's name."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, (MCPError, *bare)) else f"{type(exc).__name__}: {text}"
