"""Dashboard logins and changes in the audit trail: one record each, allowed or refused, under server `ui`
(`ui/login`, `ui/create_key`, `ui/disable_server`, ...), so the trail shows who changed what from a browser
as it shows calls made through the API. Like a refusal at the door, a refused attempt records the client's
address and the presented key's fingerprint (never the key); attempts without a usable key (an unknown key
at login, a change without a session) are capped per source by the same cap (`audit.refusals`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..audit.record import AuditRecord, caller_fields, outcome_of_refusal
from ..audit.refusals import client_address
from ..auth.keys import fingerprint
from ..errors import GatewayError
from ..state import RequestState, new_id

if TYPE_CHECKING:
    from ..auth.principal import Principal
    from ..host import GatewayHost
    from .request import Request

UI_SERVER = "ui"
ENTRY = "ui"


async def record_action(
    gateway: GatewayHost,
    request: Request,
    action: str,
    arguments: dict[str, Any],
    error: GatewayError | None = None,
    *,
    principal: Principal | None = None,
    key: str | None = None,
) -> None:
    """Audit one dashboard action by the request's admin (or `principal`, the key presented at login)."""
    who = principal or request.principal
    client = client_address(request.scope)
    suppressed = 0
    if error is not None and who is None:  # nobody known: capped per source, as refusals at the door are
        admitted = gateway.governance.refusals.cap.admit(client or "unknown")
        if admitted is None:
            return
        suppressed = admitted
    outcome = "ok" if error is None else outcome_of_refusal(error)
    record = AuditRecord(
        time=time.time(),
        request_id=RequestState.from_scope(request.scope).request_id,
        call_id=new_id(),
        server=UI_SERVER,
        tool=action,
        decision="denied" if outcome == "denied" else "allowed",
        outcome=outcome,
        **caller_fields(who, None),
        arguments=arguments,
        reason=error.reason if error is not None else None,
        error=error.message if error is not None else None,
        entry=ENTRY,
        client=client,
        key_fingerprint=fingerprint(key) if key else None,
        suppressed=suppressed,
    )
    await gateway.governance.audit.record(record)
