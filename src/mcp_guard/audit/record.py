"""The audit record: what happened on one tool call, in the fields DESIGN.md fixes."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal

from ..errors import Cancelled

if TYPE_CHECKING:
    from ..auth.principal import Principal
    from ..errors import GatewayError

Decision = Literal["allowed", "denied"]
Outcome = Literal["ok", "tool_error", "failed", "denied", "cancelled"]


@dataclass(slots=True)
class AuditRecord:
    """What happened on one tool call, allowed or denied; built by the pipeline, stored by `AuditLog`."""

    time: float
    request_id: str
    call_id: str
    server: str
    tool: str
    decision: Decision
    outcome: Outcome
    parent_id: str | None = None
    key_id: str | None = None
    key_name: str | None = None
    user: str | None = None
    roles: tuple[str, ...] = ()
    team: str | None = None
    customer: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # machine-readable reason of a denial or failure (GatewayError.reason)
    error: str | None = None
    cost: float = 0.0
    duration_ms: float = 0.0
    mode: str = "manual"
    entry: str = "mcp"  # mcp | rest | code | agent | route | request (refused at the door: `refusals.py`)
    # Added later (see ADDED_FIELDS); set on the records of requests refused at the door (`refusals.py`):
    client: str | None = None  # the client's address, as the ASGI server gives it
    key_fingerprint: str | None = None  # first 8 hex digits of the presented key's SHA-256, never the key
    suppressed: int = 0  # refusals from the same source not recorded since its previous record (the cap)
    virtual_server: str | None = None  # the virtual server (`<mount>/s/<name>`) the request came through

    def as_dict(self) -> dict[str, Any]:
        """Every field by name (values shared with the record: treat as read-only)."""
        # shallow on purpose: `dataclasses.asdict` deep-copies the arguments, and the record is serialised
        # (and so copied) right after anyway; this runs three times per tool call (normalising, hashing,
        # storing), so the fields are read by one `attrgetter` (in C) rather than one `getattr` each
        return dict(zip(_FIELD_NAMES, _field_values(self), strict=True))


_FIELD_NAMES = tuple(f.name for f in fields(AuditRecord))
_field_values = attrgetter(*_FIELD_NAMES)

# Fields added after chains were first stored. The hash covers each only when it differs from its default,
# so a record written before the field existed hashes (and verifies) exactly as it did then.
ADDED_FIELDS: dict[str, Any] = {
    f.name: f.default
    for f in fields(AuditRecord)
    if f.name in ("client", "key_fingerprint", "suppressed", "virtual_server")
}


def outcome_of_refusal(error: GatewayError) -> Outcome:
    """denied (a 4xx refusal), failed (5xx: a storage the gateway needs is down) or cancelled (the client
    cancelled the call, or went away, before it was answered)."""
    if isinstance(error, Cancelled):
        return "cancelled"
    return "denied" if error.status < 500 else "failed"


def caller_fields(principal: Principal | None, user: str | None) -> dict[str, Any]:
    """The fields that say who called: the key's principal, when known, and the `x-mcp-user` header."""
    if principal is None:
        return {"user": user}
    return {
        "key_id": principal.key_id,
        "key_name": principal.key_name,
        "user": user,
        "roles": principal.roles,
        "team": principal.team,
        "customer": principal.customer,
    }
