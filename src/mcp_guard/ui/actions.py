"""Dashboard logins and changes in the audit trail: one record each, allowed or refused, under server `ui`
(`ui/login`, `ui/create_key`, `ui/disable_server`, ...), so the trail shows who changed what from a browser
as it shows calls made through the API."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..audit.record import AuditRecord
from ..errors import GatewayError
from ..state import new_id

if TYPE_CHECKING:
    from ..auth.principal import Principal
    from ..gateway import Gateway
    from .request import Request

UI_SERVER = "ui"


async def record_action(
    gateway: Gateway,
    request: Request,
    action: str,
    arguments: dict[str, Any],
    error: GatewayError | None = None,
    *,
    principal: Principal | None = None,
) -> None:
    """Audit one dashboard action by the request's admin (or `principal`, at login)."""
    who = principal or request.principal
    record = AuditRecord(
        time=time.time(),
        request_id=new_id(),
        call_id=new_id(),
        server=UI_SERVER,
        tool=action,
        decision="denied" if error is not None else "allowed",
        outcome="denied" if error is not None else "ok",
        key_id=who.key_id if who else None,
        key_name=who.key_name if who else None,
        roles=tuple(who.roles) if who else (),
        team=who.team if who else None,
        customer=who.customer if who else None,
        arguments=arguments,
        reason=error.reason if error is not None else None,
        error=error.message if error is not None else None,
        entry="ui",
    )
    await gateway.governance.audit.record(record)
