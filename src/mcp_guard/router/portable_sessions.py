"""Handshake-era MCP sessions that any worker of `mcp-guard serve --workers N` can serve.

The mcp SDK keeps a session (`Mcp-Session-Id`, protocols up to 2025-11-25) in the memory of the process that
answered its `initialize`; with several workers on one port the kernel picks the worker per connection, so a
client's new connection may reach a worker that never saw the session, which would answer 404 "Session not
found". Here the session id carries what re-creating the session needs, signed with a secret all workers
share (`SESSION_SECRET_ENV`, set by the supervisor):

    <nonce>.<base64url JSON {"v": requested version, "c": client capabilities, "i": client info}>.<MAC>

The MAC covers the nonce, the payload and the key the session was opened with, so an id is valid only for
its own key (and the SDK binds the re-created session to that key, as it did the original). A worker that
gets a well-formed, correctly signed id it does not know re-creates the session first: it replays an
`initialize` with the same version, capabilities and client info, and the `initialized` notification,
then serves the request as usual. What the original worker's session held beyond that (log level, resource
subscriptions, an unfinished request) is not carried over. Without the secret (one process) nothing
changes: the SDK's own ids and behaviour.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from typing import Any

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, authorization_context
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..asgi import Scope, header

__all__ = ["SESSION_SECRET_ENV", "PortableSessions", "SessionIds", "new_secret", "requestor"]

SESSION_SECRET_ENV = "MCP_GUARD_SESSION_SECRET"
_MAX_ID = 2048  # longer capabilities are not carried: such a session stays on its worker (the SDK's id)
_MAC_BYTES = 16
_REOPEN_ID = "mcp-guard-reopen"

Receive = Callable[[], Any]


def new_secret() -> str:
    return secrets.token_hex(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionIds:
    """Mints and reads signed session ids."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def mint(self, owner: str, opening: dict[str, Any]) -> str | None:
        """A signed id for a session `owner` opens with `opening` ({"v", "c", "i"}); None when too long."""
        nonce = secrets.token_hex(16)
        payload = _b64(json.dumps(opening, separators=(",", ":"), sort_keys=True).encode())
        session_id = f"{nonce}.{payload}.{self._mac(nonce, payload, owner)}"
        return session_id if len(session_id) <= _MAX_ID else None

    def read(self, session_id: str, owner: str) -> dict[str, Any] | None:
        """What the session was opened with, when `session_id` is ours and `owner`'s; otherwise None."""
        parts = session_id.split(".")
        if len(parts) != 3 or len(session_id) > _MAX_ID:
            return None
        nonce, payload, mac = parts
        if not hmac.compare_digest(mac, self._mac(nonce, payload, owner)):
            return None
        try:
            opening = json.loads(_unb64(payload))
        except ValueError:
            return None
        return opening if isinstance(opening, dict) else None

    def _mac(self, nonce: str, payload: str, owner: str) -> str:
        message = f"{nonce}.{payload}.{owner}".encode()
        return _b64(hmac.new(self._secret, message, hashlib.sha256).digest()[:_MAC_BYTES])


class PortableSessions(StreamableHTTPSessionManager):
    """The SDK's session manager, minting signed ids and re-creating a signed session it does not hold.

    Touches three internals of the SDK's manager (mcp 2.3): `_admit_session` (to choose the id),
    `_serve_opening_request` (to open a session) and `_server_instances` (to know which it holds)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        secret = os.environ.get(SESSION_SECRET_ENV)
        self._ids = SessionIds(secret) if secret else None
        self._next_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("next_session_id", default=None)
        # Sessions being re-created here: the client's other requests (its GET stream, a POST sent at the
        # same time) wait for the `initialize` replay rather than reach a session not yet initialised
        self._reopening: dict[str, anyio.Event] = {}

    async def handle_request(self, scope: Scope, receive: Any, send: Any) -> None:
        ids = self._ids
        if ids is None or scope.get("type") != "http":
            await super().handle_request(scope, receive, send)
            return
        session_id = header(scope, b"mcp-session-id")
        modern = header(scope, b"mcp-protocol-version") in MODERN_PROTOCOL_VERSIONS  # no sessions there
        if session_id is None and scope.get("method") == "POST" and not modern:
            body, receive = await _peek_body(receive, self.max_request_body_size)
            opening = _opening(body)
            wanted = ids.mint(_owner(scope), opening) if opening is not None else None
            token = self._next_id.set(wanted)
            try:
                await super().handle_request(scope, receive, send)
            finally:
                self._next_id.reset(token)
            return
        pending = self._reopening.get(session_id) if session_id is not None else None
        if pending is not None:
            await pending.wait()
        elif session_id is not None and session_id not in self._server_instances:
            opening = ids.read(session_id, _owner(scope))
            if opening is not None:
                await self._reopen(session_id, opening, scope)
        await super().handle_request(scope, receive, send)

    def _admit_session(self, requestor: Any) -> Any:
        transport = super()._admit_session(requestor)
        wanted = self._next_id.get()
        chosen = transport.mcp_session_id if transport is not None else None
        if transport is not None and chosen is not None and wanted is not None:  # ours replaces the SDK's
            self._server_instances[wanted] = self._server_instances.pop(chosen)
            if chosen in self._session_owners:
                self._session_owners[wanted] = self._session_owners.pop(chosen)
            transport.mcp_session_id = wanted
        return transport

    async def _reopen(self, session_id: str, opening: dict[str, Any], scope: Scope) -> None:
        """Open `session_id` here as its client opened it elsewhere: `initialize`, then `initialized`."""
        done = self._reopening[session_id] = anyio.Event()  # no await since the caller's check: atomic
        try:
            await self._replay_opening(session_id, opening, scope)
        finally:
            del self._reopening[session_id]
            done.set()

    async def _replay_opening(self, session_id: str, opening: dict[str, Any], scope: Scope) -> None:
        token = self._next_id.set(session_id)
        try:
            async with self._session_creation_lock:
                transport = self._admit_session(requestor(scope.get("user")))
        finally:
            self._next_id.reset(token)
        if transport is None:
            return  # at the session limit: the request gets the SDK's 404, as before
        initialize = _json({"jsonrpc": "2.0", "id": _REOPEN_ID, "method": "initialize", "params": _params(opening)})
        opened = await _status_of(
            lambda send: self._serve_opening_request(
                transport, _internal(scope, None, None), _replay(initialize, None), send
            )
        )
        if opened >= 400:
            return  # not established: the SDK discarded it, and the request gets its 404
        version = header(scope, b"mcp-protocol-version") or str(opening.get("v", ""))
        initialized = _json({"jsonrpc": "2.0", "method": "notifications/initialized"})
        await _status_of(
            lambda send: super(PortableSessions, self).handle_request(
                _internal(scope, session_id, version), _replay(initialized, None), send
            )
        )


def _params(opening: dict[str, Any]) -> dict[str, Any]:
    """The `initialize` params the client sent when it opened the session (as far as the id carries them)."""
    return {
        "protocolVersion": str(opening.get("v", "")),
        "capabilities": opening.get("c") or {},
        "clientInfo": opening.get("i") or {"name": "unknown", "version": "0"},
    }


def _owner(scope: Scope) -> str:
    user = scope.get("user")
    return user.access_token.client_id if isinstance(user, AuthenticatedUser) else ""


def requestor(user: Any) -> Any:
    """The credential the SDK binds a session to (None: no bearer user)."""
    return authorization_context(user) if isinstance(user, AuthenticatedUser) else None


def _opening(body: bytes) -> dict[str, Any] | None:
    """{"v", "c", "i"} of an `initialize` request body; None for anything else."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("method") != "initialize":
        return None
    params = message.get("params")
    if not isinstance(params, dict) or not isinstance(params.get("protocolVersion"), str):
        return None
    return {"v": params["protocolVersion"], "c": params.get("capabilities") or {}, "i": params.get("clientInfo")}


async def _peek_body(receive: Any, limit: int | None) -> tuple[bytes, Any]:
    """The request body (at most `limit` + 1 bytes of it), and a `receive` that hands it on unchanged."""
    chunks: list[bytes] = []
    size, more = 0, True
    while more and (limit is None or size <= limit):
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), _replay(b"".join(chunks), receive, message)
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False)
    body = b"".join(chunks)
    return body, _replay(body, receive if more else None, more=more)


def _replay(body: bytes, receive: Any, final: Any = None, *, more: bool = False) -> Any:
    """A `receive` giving `body` first, then (if there is one) what `receive` gives."""
    sent = False

    async def replayed() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more or final is not None}
        if final is not None:
            return final
        if receive is not None:
            return await receive()
        await anyio.sleep_forever()  # like a client that stays connected until the answer is sent

    return replayed


def _json(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode()


def _internal(scope: Scope, session_id: str | None, version: str | None) -> Scope:
    """The client's request scope (its host, origin, key and user) as a JSON POST of the gateway's own."""
    dropped = {b"mcp-session-id", b"mcp-protocol-version", b"content-type", b"accept", b"content-length"}
    headers = [(k, v) for k, v in scope.get("headers", ()) if k not in dropped]
    headers += [(b"content-type", b"application/json"), (b"accept", b"application/json, text/event-stream")]
    if session_id is not None:
        headers.append((b"mcp-session-id", session_id.encode()))
    if version:
        headers.append((b"mcp-protocol-version", version.encode()))
    return {**scope, "method": "POST", "headers": headers}


async def _status_of(serve: Callable[[Any], Any]) -> int:
    """Run `serve(send)` with a `send` that keeps only the response status."""
    status = 500

    async def send(message: Any) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await serve(send)
    return status
