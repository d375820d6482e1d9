"""Per-user upstream credentials (servers marked `credentials: {mode: stored}`), managed over HTTP:

    GET    /credentials/{server}          who has linked a credential (admin; never the tokens)
    PUT    /credentials/{server}/{user}   link or replace `user`'s token: {"token": "..."} (admin, or the user)
    DELETE /credentials/{server}/{user}   unlink it (admin, or the user); their open session closes

The user is the principal's name (a key's name, or the user an OAuth token maps to), so a caller links
their own at `/credentials/{server}/{their name}`. Every change, and every refused attempt, is audited
(tool `credentials/link` or `credentials/unlink`, the user in the arguments, never the token).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..asgi import Scope, send_json
from ..audit.record import AuditRecord, caller_fields, outcome_of_refusal
from ..credentials.sessions import PerPrincipalUpstream
from ..errors import BadRequest, GatewayError, NotAllowed, NotFound, Unauthenticated
from ..state import RequestState, new_id
from .admin import require_admin
from .rest import read_json

if TYPE_CHECKING:
    from ..host import GatewayHost

MAX_TOKEN = 16 * 1024


async def list_credentials(gateway: GatewayHost, scope: Scope, receive: Any, send: Any, *, server: str) -> None:
    _per_user_server(gateway, server)
    linked = await gateway.credentials.linked(server)
    await send_json(send, 200, {"server": server, "credentials": [c.public() for c in linked]})


async def put_credential(
    gateway: GatewayHost, scope: Scope, receive: Any, send: Any, *, server: str, user: str
) -> None:
    async def link() -> None:
        token = _token(await read_json(scope, receive, gateway.config.max_body_bytes))
        record = await gateway.credentials.link(server, user, token, _caller(scope))
        _forget(gateway, server, user)  # the next call opens a session with the new token
        await send_json(send, 200, record.public())

    await _audited(gateway, scope, "credentials/link", server, user, link)


async def delete_credential(
    gateway: GatewayHost, scope: Scope, receive: Any, send: Any, *, server: str, user: str
) -> None:
    async def unlink() -> None:
        if not await gateway.credentials.unlink(server, user):
            raise NotFound(f"No credential of '{user}' for server '{server}'")
        _forget(gateway, server, user)
        await send_json(send, 200, {"server": server, "user": user, "deleted": True})

    await _audited(gateway, scope, "credentials/unlink", server, user, unlink)


async def _audited(gateway: GatewayHost, scope: Scope, action: str, server: str, user: str, change: Any) -> None:
    """Run `change` if the caller may change `user`'s credential; audit the attempt either way."""
    state = RequestState.from_scope(scope)
    error: GatewayError | None = None
    try:
        _may_change(scope, user)
        _per_user_server(gateway, server)
        await change()
    except GatewayError as exc:
        error = exc
        raise
    finally:
        if state.audit is not None:
            await state.audit.record(_record(state, action, server, user, error))


def _record(state: RequestState, action: str, server: str, user: str, error: GatewayError | None) -> AuditRecord:
    outcome = outcome_of_refusal(error) if error is not None else "ok"
    return AuditRecord(
        time=time.time(), request_id=state.request_id, call_id=new_id(), server=server, tool=action,
        decision="denied" if outcome == "denied" else "allowed", outcome=outcome,
        **caller_fields(state.principal, state.user), arguments={"user": user},
        reason=error.reason if error else None, error=error.message if error else None, entry="admin",
    )  # fmt: skip


def _may_change(scope: Scope, user: str) -> None:
    principal = RequestState.from_scope(scope).principal
    if principal is None:
        raise Unauthenticated("Linking a credential needs an authenticated caller")
    if principal.key_name != user:
        require_admin(scope)


def _per_user_server(gateway: GatewayHost, server: str) -> None:
    config = gateway.upstream_manager.wanted().get(server)
    if config is None:
        raise NotFound(f"No server {server!r}")
    if config.credentials is None or config.credentials.mode != "stored":
        raise NotAllowed(f"Server '{server}' does not take stored per-user credentials (credentials.mode: stored)")


def _token(body: Any) -> str:
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token.strip():
        raise BadRequest('token: expected the body {"token": "<the upstream token>"}')
    if len(token) > MAX_TOKEN or any(ord(c) < 0x21 or ord(c) > 0x7E for c in token):
        raise BadRequest(f"token: at most {MAX_TOKEN} printable ASCII characters without spaces")
    return token


def _caller(scope: Scope) -> str:
    principal = RequestState.from_scope(scope).principal
    return principal.key_name if principal is not None else ""


def _forget(gateway: GatewayHost, server: str, user: str) -> None:
    upstream = gateway.upstreams.get(server)
    if isinstance(upstream, PerPrincipalUpstream):
        upstream.forget(user)
