"""Every error mcp-guard raises on purpose.

The tree is shallow on purpose; each refusal maps to exactly one HTTP status:

    ConfigError                    bad configuration (startup; never reaches a client)
    GatewayError                   a tool call or request was refused or failed
    ├── BadRequest          400    malformed body, arguments that violate the tool's schema
    │   └── MalformedInput  400    not text every upstream can read: a lone surrogate, nesting too deep
    ├── Unauthenticated     401    key missing or unknown
    ├── BudgetExceeded      402    a budget tier would be overspent
    ├── NotAllowed          403    the principal may not use this tool, or the key is inactive
    ├── NotFound            404    no such route or server
    │   └── ToolNotFound    404    no such tool
    ├── MethodNotAllowed    405    wrong HTTP method for the route
    ├── ConfirmationRequired 409   a destructive tool needs an explicit confirmation
    │   └── ConfirmationRefused 409 the confirmation id sent was unknown, expired, used or another's
    ├── UrlElicitationRequired 409 the upstream needs the user to visit a URL first (MCP error -32042)
    ├── ClientInputUnavailable 409 the upstream asked for input (elicitation, sampling) on a path with no client
    ├── BodyTooLarge        413    request body over the configured limit
    ├── UnsupportedMediaType 415   body is not application/json
    ├── RateLimited         429    a rate limit would be exceeded
    ├── Cancelled           499    the client cancelled the call (or went away) before it was answered
    ├── UpstreamError       502    the upstream server failed or is unreachable
    │   └── UpstreamTimeout 504    the upstream did not answer in time
    └── ServiceUnavailable  503    a storage the gateway needs (rate limits, budgets) is unreachable

REST routes render a GatewayError as RFC 9457 problem+json (`problem.py`); the MCP endpoint turns it
into an `is_error` tool result whose `_meta` carries `reason`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class ConfigError(Exception):
    """The configuration is invalid; the message names the file, the field path and what was expected."""


class GatewayError(Exception):
    """A refusal or failure of one request or tool call."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Gateway error"
    reason: ClassVar[str] = "error"

    def __init__(
        self,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


class BadRequest(GatewayError):
    status, title, reason = 400, "Bad request", "bad_request"


class MalformedInput(BadRequest):
    """Input no upstream can be sent safely: invalid JSON, a lone surrogate, nesting too deep (`json_input`)."""

    reason = "malformed_input"


class Unauthenticated(GatewayError):
    status, title, reason = 401, "Unauthorized", "unauthenticated"


class BudgetExceeded(GatewayError):
    status, title, reason = 402, "Budget exceeded", "budget_exceeded"


class NotAllowed(GatewayError):
    status, title, reason = 403, "Forbidden", "not_allowed"


class NotFound(GatewayError):
    status, title, reason = 404, "Not found", "not_found"


class ToolNotFound(NotFound):
    status, title, reason = 404, "Tool not found", "tool_not_found"


class MethodNotAllowed(GatewayError):
    status, title, reason = 405, "Method not allowed", "method_not_allowed"


class ConfirmationRequired(GatewayError):
    status, title, reason = 409, "Confirmation required", "confirmation_required"


class ConfirmationRefused(ConfirmationRequired):
    """The confirmation id sent with a call was not valid for it; the call still needs confirming."""

    reason = "confirmation_invalid"


class UrlElicitationRequired(GatewayError):
    """The upstream answered -32042: the user must complete the URL elicitations in `extra["elicitations"]`
    (the upstream's own, as it sent them) before the request can succeed; the MCP endpoint sends it on as
    that error."""

    status, title, reason = 409, "URL elicitation required", "url_elicitation_required"

    def __init__(self, message: str, *, server: str, elicitations: list[Any]) -> None:
        super().__init__(message, extra={"elicitations": elicitations})
        self.server = server  # the upstream that answered -32042 (its completions name it)


class ClientInputUnavailable(GatewayError):
    """The upstream asked for user input (elicitation) or the client's model (sampling) during a call whose
    path has no MCP client to ask: a REST call, a Code Mode program, an agent-mode turn, a completion."""

    status, title, reason = 409, "Client input unavailable", "client_input_unavailable"


class BodyTooLarge(GatewayError):
    status, title, reason = 413, "Request body too large", "body_too_large"


class UnsupportedMediaType(GatewayError):
    status, title, reason = 415, "Unsupported media type", "unsupported_media_type"


class RateLimited(GatewayError):
    status, title, reason = 429, "Rate limit exceeded", "rate_limited"


class Cancelled(GatewayError):
    """Never sent (nobody is listening any more): what the audit record of a cancelled call says."""

    status, title, reason = 499, "Client closed request", "cancelled"


class UpstreamError(GatewayError):
    status, title, reason = 502, "Upstream failed", "upstream_error"


class UpstreamTimeout(UpstreamError):
    status, title, reason = 504, "Upstream timeout", "upstream_timeout"


class ServiceUnavailable(GatewayError):
    status, title, reason = 503, "Service unavailable", "service_unavailable"
