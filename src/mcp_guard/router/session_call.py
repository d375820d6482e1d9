"""The fast path for handshake-era sessions: a plain `tools/call` POST on an open 2024-11-05 … 2025-11-25
session, answered without the SDK's per-message machinery.

On the SDK path such a POST goes through the session's transport (a Starlette `Request`, pydantic parsing
and validation of the envelope, a memory stream to the session's task, the dispatcher's task per request,
a `ServerSession` and request context, the middleware chain, a stream back, a Starlette `Response`): most
of what a gateway call costs besides the upstream round trip. Here the body is parsed once with the SDK's
own parser, the request is checked with the same rules, and the answer is serialized as the SDK does, so
the client reads the same bytes (`tests/integration/test_session_call.py` compares them).

Only the plain case is taken: a session this process holds, opened with the same credential, initialized,
not ending; a handshake-era `MCP-Protocol-Version` (or none, as clients before 2025-06-18 send); JSON in
and out; a well-formed `tools/call`. Everything else goes to the SDK with the body replayed, so every
refusal keeps the SDK's answer, and a portable session id this worker does not hold yet reaches
`portable_sessions.py`, which re-creates it.

A call whose `_meta` carries a progress token (the Inspector sends one with every call), or whose client
declared elicitation or sampling, is served here too, through the same function as the SDK's handler
(`mcp_endpoint.relayed_caller`) with a request context of its own (`open_sessions.CallContext`): the upstream's progress
and questions reach the client on the session's own stream, as they do on the SDK's path in JSON-response
mode (where a request's own channel cannot carry them), and the answer waits for that stream to send the
progress first (`open_sessions.progress_sent`). Other calls skip that wrapping.

A call on this path is cancelled like one on the SDK path: by the client's `notifications/cancelled` (it
still reaches the SDK, which finds nothing to cancel) and answered `-32800 Request cancelled`, as the SDK's
transport answers; and, beyond the SDK's JSON mode, by the client going away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import mcp_types as types
import pydantic_core
from mcp import MCPError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.dispatcher import coerce_request_id
from mcp.shared.jsonrpc_dispatcher import cancelled_request_id_from_params, handler_exception_to_error_data
from mcp_types import INTERNAL_ERROR, ErrorData, RequestId
from mcp_types import methods as wire_methods
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import ValidationError

from ..asgi import Scope
from ..caches import BoundedMemo
from ..chat.confirmations import CONFIRM_HEADER
from ..observability.tracing import Tracing, mark_rpc_error, mark_tool_result
from ..state import RequestState
from .fast_call import (
    ASGIApp,
    DisconnectWatch,
    HeaderVerdicts,
    Receive,
    Send,
    ToolCaller,
    allowed_by,
    read_body,
    wanted_headers,
)
from .open_sessions import CallContext, OpenSession, in_flight, progress_sent

if TYPE_CHECKING:
    from mcp.server.connection import Connection

logger = logging.getLogger(__name__)

METHOD = "tools/call"
SESSION_HEADER = b"mcp-session-id"
_VERSION_HEADER = b"mcp-protocol-version"
_WANTED = frozenset({SESSION_HEADER, _VERSION_HEADER, b"content-type", b"accept", b"host", b"origin", CONFIRM_HEADER})
_ONCE = frozenset({SESSION_HEADER, _VERSION_HEADER})  # a repeat is left to the SDK (it reads the first)
_VERSIONS = frozenset(HANDSHAKE_PROTOCOL_VERSIONS)
_ENVELOPE = frozenset({"jsonrpc", "id", "method", "params"})
_PARAMS = frozenset({"name", "arguments", "_meta"})
_JSON_TYPES = frozenset({"*/*", "application/json", "application/*"})
_CANCELLED_ANSWER = ErrorData(code=-32800, message="Request cancelled")  # the SDK transport's REQUEST_CANCELLED
_CACHE_BYTES = 256 * 1024
_MAX_KEY = 2048
# (version, repr of `_meta`) → whether the version's surface accepts a call carrying it
_META_VERDICTS: BoundedMemo[tuple[str, str], bool] = BoundedMemo(_CACHE_BYTES)


SessionFinder = Callable[[Scope, str], "OpenSession | None"]
# (request context, params, confirmation id) → the call's result, relaying progress and questions
RelayedCaller = Callable[[Any, types.CallToolRequestParams, "str | None"], Awaitable[Any]]


class SessionToolCall:
    """Answers plain handshake-era `tools/call` POSTs on open sessions with `call` (the function the SDK's
    handler uses); hands everything else to `fallback` (the SDK)."""

    def __init__(
        self,
        call: ToolCaller,
        relayed: RelayedCaller,
        find: SessionFinder,
        security: TransportSecuritySettings,
        limit: int,
        *,
        tracing: Tracing | None = None,
    ) -> None:
        self.call, self.relayed, self.find = call, relayed, find
        self.security, self.limit, self.tracing = security, limit, tracing
        # (session id, request id) of each call in flight here → its watch, for `notifications/cancelled`
        self._calls: dict[tuple[str, RequestId], DisconnectWatch] = {}
        self._verdicts = HeaderVerdicts(self._judge)

    async def __call__(self, scope: Scope, receive: Receive, send: Send, fallback: ASGIApp) -> None:
        headers = self._plain_headers(scope)
        session = self.find(scope, headers[SESSION_HEADER].decode("latin-1")) if headers is not None else None
        if headers is None or session is None:
            await fallback(scope, receive, send)
            return
        read = await read_body(receive, self.limit)
        message = _json(read.body) if read.body is not None else None
        call = _plain_call(message, session.connection) if message is not None else None
        if call is None:
            if message is not None:
                self._note_cancel(session.session_id, message)
            await fallback(scope, read.replay, send)
            return
        with in_flight(session.transport):
            await self._answer(scope, read.replay, send, headers, session, *call)

    def _plain_headers(self, scope: Scope) -> dict[bytes, bytes] | None:
        """The headers this path reads, when the request is a handshake-era POST on a session; else None."""
        found = wanted_headers(scope, _WANTED, _ONCE)
        if found is None or SESSION_HEADER not in found:
            return None
        version = found.get(_VERSION_HEADER)  # absent: a 2024-11-05 or 2025-03-26 client; the SDK takes it too
        if version is not None and version.decode("latin-1") not in _VERSIONS:
            return None
        return found if self._verdicts(found) else None

    def _judge(
        self, content_type: bytes | None, accept: bytes | None, host: bytes | None, origin: bytes | None
    ) -> bool:
        """Accept, Content-Type and the DNS-rebinding rules pass, as the SDK's session transport checks them
        (JSON-response mode: `application/json` accepted; the type begins with `application/json`, any case,
        and one of its comma-separated parts is exactly `application/json`: the SDK checks both)."""
        media = (content_type or b"").decode("latin-1")
        if not media.lower().startswith("application/json"):
            return False
        if not any(part.strip() == "application/json" for part in media.split(";")[0].split(",")):
            return False
        accepted = (accept or b"").decode("latin-1").split(",")
        if not any(item.strip().split(";")[0].strip().lower() in _JSON_TYPES for item in accepted):
            return False
        return allowed_by(self.security, host, origin)

    def _note_cancel(self, session_id: str, message: Any) -> None:
        """A `notifications/cancelled` for a call running here cancels it (the SDK finds nothing to cancel)."""
        if not self._calls or not isinstance(message, dict) or message.get("method") != "notifications/cancelled":
            return
        params = message.get("params")
        request_id = cancelled_request_id_from_params(params if isinstance(params, dict) else None)
        watch = self._calls.get((session_id, coerce_request_id(request_id))) if request_id is not None else None
        if watch is not None:
            watch.cancel()

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: dict[bytes, bytes],
        session: OpenSession,
        request_id: RequestId,
        params: dict[str, Any],
    ) -> None:
        run = self._runner(scope, headers, session, request_id, params)
        key = (session.session_id, coerce_request_id(request_id))
        watch = self._calls[key] = DisconnectWatch(receive)
        try:
            message = await self._traced(session, request_id, params, run)
        except asyncio.CancelledError:
            if not watch.fired:
                raise  # the server's cancellation, not the client's
            watch.caller_uncancel()
            if watch.disconnected:
                return  # the client has gone: nobody to answer
            message = {"jsonrpc": "2.0", "id": request_id, "error": _CANCELLED_ANSWER.model_dump(exclude_unset=True)}
        finally:
            watch.close()
            if self._calls.get(key) is watch:
                del self._calls[key]
        payload = pydantic_core.to_json(message)
        response = [(b"content-type", b"application/json"), (SESSION_HEADER, headers[SESSION_HEADER])]
        response.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": response})
        await send({"type": "http.response.body", "body": payload})

    def _runner(
        self,
        scope: Scope,
        headers: dict[bytes, bytes],
        session: OpenSession,
        request_id: RequestId,
        params: dict[str, Any],
    ) -> Callable[[], Awaitable[types.CallToolResult]]:
        """What runs the call: the tool caller itself, or, when the call may relay progress or questions to
        its client, the SDK handler's function with a request context."""
        confirmation = headers.get(CONFIRM_HEADER)  # a destructive tool's second step (`chat/confirmations.py`)
        confirmation_id = confirmation.decode("latin-1") if confirmation is not None else None
        if not _relays(params, session.connection):
            state = RequestState.from_scope(scope)
            return lambda: self.call(state, params["name"], params.get("arguments"), confirmation_id)

        async def relayed() -> types.CallToolResult:
            typed = types.CallToolRequestParams.model_validate(params, by_name=False)
            ctx = CallContext(scope, session.connection, request_id, params)
            result: types.CallToolResult = await self.relayed(ctx, typed, confirmation_id)
            if "progressToken" in params.get("_meta", {}):
                await progress_sent(session.transport)
            return result

        return relayed

    async def _traced(
        self,
        session: OpenSession,
        request_id: RequestId,
        params: dict[str, Any],
        run: Callable[[], Awaitable[types.CallToolResult]],
    ) -> dict[str, Any]:
        version = session.connection.protocol_version
        if self.tracing is None:
            return await self._reply(request_id, version, run, None)
        meta = params.get("_meta")
        with self.tracing.mcp_span(  # the MCP server span the SDK path opens for this message (`mcp_spans.py`)
            METHOD,
            params["name"],
            request_id=request_id,
            protocol_version=version,
            meta=meta if isinstance(meta, dict) else None,
            session_id=session.session_id,
        ) as span:
            return await self._reply(request_id, version, run, span)

    async def _reply(
        self, request_id: RequestId, version: str, run: Callable[[], Awaitable[types.CallToolResult]], span: Any
    ) -> dict[str, Any]:
        """The JSON-RPC answer to the call, as the SDK's dispatcher builds it."""
        try:
            result = await run()
            message = {"jsonrpc": "2.0", "id": request_id, "result": _wire(result, version)}
        except Exception as exc:  # the dispatcher's one exception-to-wire boundary
            error = handler_exception_to_error_data(exc)
            if error is None:
                logger.exception("handler for %r raised", METHOD)
                error = ErrorData(code=0, message=str(exc))  # the SDK's handshake-era answer (not -32603)
            if span is not None:
                mark_rpc_error(span, error.code, error.message)
            return {"jsonrpc": "2.0", "id": request_id, "error": error.model_dump(exclude_unset=True)}
        if span is not None:
            mark_tool_result(span, result.is_error)
        return message


def _wire(result: types.CallToolResult, version: str) -> dict[str, Any]:
    """The result as the SDK sends it to a handshake-era session: dumped, validated and sieved by the
    version's surface (always, unlike 2026-07-28), never stamped."""
    dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    try:
        return wire_methods.serialize_server_result(METHOD, version, dumped)
    except ValidationError:
        logger.exception("handler for %r returned an invalid result", METHOD)
        raise MCPError(code=INTERNAL_ERROR, message="Handler returned an invalid result") from None


def _json(body: bytes) -> Any:
    """The body as the SDK's transport parses it (`pydantic_core`: NaN, big numbers and lone surrogates are
    treated alike on both paths); None when it is not JSON."""
    try:
        return pydantic_core.from_json(body)
    except ValueError:
        return None


def _plain_call(message: Any, connection: Connection) -> tuple[RequestId, dict[str, Any]] | None:
    """(request id, params) of a well-formed `tools/call` this path may answer on `connection`; else None."""
    if not isinstance(message, dict) or message.keys() != _ENVELOPE or message["jsonrpc"] != "2.0":
        return None
    request_id, params = message["id"], message["params"]
    if isinstance(request_id, bool) or not isinstance(request_id, int | str) or message["method"] != METHOD:
        return None
    if not isinstance(params, dict) or not params.keys() <= _PARAMS:
        return None
    name, arguments, meta = params.get("name"), params.get("arguments"), params.get("_meta", {})
    if not isinstance(name, str) or not (arguments is None or isinstance(arguments, dict)):
        return None
    if not isinstance(meta, dict):
        return None
    token = meta.get("progressToken", "")
    if isinstance(token, bool) or not isinstance(token, int | str):
        return None  # a progress token is a string or an integer: the SDK answers any other
    return (request_id, params) if _valid_meta(connection.protocol_version, params) else None


def _relays(params: dict[str, Any], connection: Connection) -> bool:
    """Whether the call may send its client progress (a token in `_meta`) or questions (the client declared
    elicitation or sampling)."""
    if "progressToken" in params.get("_meta", {}):
        return True
    declared = connection.client_capabilities
    return declared is not None and (declared.elicitation is not None or declared.sampling is not None)


def _valid_meta(version: str, params: dict[str, Any]) -> bool:
    """The surface check the SDK runs before dispatch. With `name` a string, `arguments` an object or
    absent and no other key, only `_meta` can fail it, and a client sends the same `_meta` on every call:
    each distinct one (per version) is checked once. `repr` of parsed JSON tells every value apart."""
    meta = params.get("_meta")
    if isinstance(meta, dict) and "progressToken" in meta:  # one per call: judged apart (`_plain_call`)
        meta = {k: v for k, v in meta.items() if k != "progressToken"}
    try:
        key = (version, repr(meta))
    except RecursionError:
        return False  # the SDK answers this one
    valid = _META_VERDICTS.lookup(key)
    if valid is None:
        try:
            wire_methods.validate_client_request(METHOD, version, params)
            valid = True
        except (ValidationError, KeyError, ValueError):
            valid = False
        if len(key[1]) <= _MAX_KEY:
            _META_VERDICTS.remember(key, valid)
    return valid
