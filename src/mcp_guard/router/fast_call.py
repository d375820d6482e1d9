"""The fast path of the MCP endpoint: a plain 2026-07-28 `tools/call` POST answered without the SDK's
per-request machinery.

The SDK's single-exchange handler builds a Starlette `Request`, validates the envelope with pydantic twice,
classifies it, builds a `Connection`, a dispatch context, a `ServerRunner`, a session and a request
context, and runs the OpenTelemetry middleware around the handler: most of what a gateway call costs
besides the upstream round trip. Here the body is parsed once, the request is checked with the same
rules, and the answer is built with the SDK's own serializer, so the client reads the same bytes.

Only the plain case is taken. Anything else (another method or era, a duplicated routing header,
`Mcp-Param-*` headers, a Host or Origin the SDK would refuse, a body over the limit, unusual JSON) goes to
the SDK unchanged, with the body already read replayed; so every refusal and error keeps the SDK's answer.
With tracing on, each call gets the same MCP server span as on the SDK path (`observability.mcp_spans`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp import MCPError
from mcp.server.runner import modern_error_data
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.inbound import ERROR_CODE_HTTP_STATUS, decode_header_value
from mcp_types import (
    CLIENT_CAPABILITIES_META_KEY,
    CORE_RESULT_TYPES,
    INTERNAL_ERROR,
    LOG_LEVEL_META_KEY,
    PROTOCOL_VERSION_META_KEY,
    SERVER_INFO_META_KEY,
)
from mcp_types import methods as wire_methods
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from ..asgi import Message, Scope
from ..caches import BoundedMemo
from ..chat.confirmations import CONFIRM_HEADER
from ..observability.tracing import Tracing, mark_rpc_error, mark_tool_result
from ..state import RequestState
from .wire_result import PLAIN_WIRE_VERSION, plain_wire

if TYPE_CHECKING:
    from mcp.server import Server

Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
ToolCaller = Callable[[RequestState, str, dict[str, Any] | None, str | None], Awaitable[types.CallToolResult]]

logger = logging.getLogger(__name__)

METHOD = "tools/call"
_ROUTING = (b"mcp-protocol-version", b"mcp-method", b"mcp-name")
_WANTED = frozenset({*_ROUTING, b"host", b"origin", b"content-type", b"accept", b"content-length", CONFIRM_HEADER})
_PARAM_PREFIX = b"mcp-param-"
_PARAMS = frozenset({"name", "arguments", "_meta"})
_ENVELOPE = frozenset({"jsonrpc", "id", "method", "params"})
_JSON_TYPES = ("*/*", "application/json", "application/*")
_RESPONSE_TYPE = (b"content-type", b"application/json")
# What `json.dumps(value, separators=(",", ":"))` gives (the SDK's call), without building an encoder per call
_compact_json = json.JSONEncoder(separators=(",", ":")).encode
_CACHE_BYTES = 512 * 1024
WATCH_AFTER = 0.1  # seconds a call runs before the fast path watches for its client going away
_MAX_KEY = 2048  # bytes or characters of a cache key; longer ones are judged afresh every time
# repr of a request's `_meta` → whether the SDK's surface accepts it
_META_VERDICTS: BoundedMemo[str, bool] = BoundedMemo(_CACHE_BYTES)


class FastToolCall:
    """Answers plain 2026-07-28 `tools/call` POSTs with `call` (the same function the SDK's handler uses);
    hands everything else to `fallback` (the SDK)."""

    def __init__(
        self,
        call: ToolCaller,
        server: Server[Any],
        security: TransportSecuritySettings,
        limit: int,
        *,
        tracing: Tracing | None = None,
    ):
        self.call = call
        self.tracing = tracing
        self.limit = limit
        self.security = security
        # Once per server: the SDK deep-copies this stamp per response; it is serialized at once here.
        self.server_info = server.server_info_stamp
        self._verdicts = HeaderVerdicts(self._judge)

    async def __call__(self, scope: Scope, receive: Receive, send: Send, fallback: ASGIApp) -> None:
        headers = self._plain_headers(scope)
        if headers is None:
            await fallback(scope, receive, send)
            return
        read = await read_body(receive, self.limit)
        parsed = _parse(read.body, headers) if read.body is not None else None
        if parsed is None:
            await fallback(scope, read.replay, send)
            return
        await self._answer(scope, read.replay, send, headers, *parsed)

    def _plain_headers(self, scope: Scope) -> dict[bytes, bytes] | None:
        """The headers this path reads, when the request is a plain modern `tools/call` POST; else None."""
        # the SDK refuses a duplicated routing header, and validates `Mcp-Param-*` against the tool's schema
        found = wanted_headers(scope, _WANTED, _ROUTING, refused_prefix=_PARAM_PREFIX)
        if found is None or found.get(b"mcp-method") != b"tools/call" or not self._acceptable(found):
            return None
        version = found.get(b"mcp-protocol-version", b"").decode("latin-1")
        return found if version in MODERN_PROTOCOL_VERSIONS else None

    def _acceptable(self, headers: dict[bytes, bytes]) -> bool:
        """Content type, Accept, size and the DNS-rebinding rules all pass, as the SDK checks them."""
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return False
        return self._verdicts(headers)

    def _judge(
        self, content_type: bytes | None, accept: bytes | None, host: bytes | None, origin: bytes | None
    ) -> bool:
        if not (content_type or b"").lower().startswith(b"application/json"):
            return False
        accepted = (accept or b"").decode("latin-1").split(",")
        if not any(media.split(";")[0].strip().lower() in _JSON_TYPES for media in accepted):
            return False
        return allowed_by(self.security, host, origin)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: dict[bytes, bytes],
        request_id: int | str,
        params: dict[str, Any],
    ) -> None:
        state = RequestState.from_scope(scope)
        version = params["_meta"][PROTOCOL_VERSION_META_KEY]
        confirmation = headers.get(CONFIRM_HEADER)  # a destructive tool's second step (`chat/confirmations.py`)
        confirmation_id = confirmation.decode("latin-1") if confirmation is not None else None
        arguments = (state, params["name"], params.get("arguments"), confirmation_id)
        # A 2026-07-28 client cancels a call by closing its request: the call (and its upstream call) stop
        watch = DisconnectWatch(receive)
        try:
            if self.tracing is None:
                message = await self._reply(request_id, version, arguments, None)
            else:  # the MCP server span the SDK path would open for this message
                name, meta = params["name"], params["_meta"]
                with self.tracing.mcp_span(
                    METHOD, name, request_id=request_id, protocol_version=version, meta=meta
                ) as span:
                    message = await self._reply(request_id, version, arguments, span)
        except asyncio.CancelledError:
            if not watch.fired:
                raise  # the server's cancellation, not ours
            watch.caller_uncancel()
            return  # the client has gone: nobody to answer
        finally:
            watch.close()
        status = ERROR_CODE_HTTP_STATUS.get(message["error"]["code"], 200) if "error" in message else 200
        await send_json(send, status, _compact_json(message).encode())

    async def _reply(
        self, request_id: int | str, version: str, arguments: tuple[Any, ...], span: Any
    ) -> dict[str, Any]:
        """The JSON-RPC answer to the call (`arguments` for `self.call`), noted on `span` if there is one."""
        try:
            result = await self.call(*arguments)
            message = {"jsonrpc": "2.0", "id": request_id, "result": self._wire(result, version)}
        except Exception as exc:  # what the SDK turns into a JSON-RPC error (and logs)
            error = modern_error_data(exc).model_dump(mode="json", by_alias=True, exclude_none=True)
            if span is not None:
                mark_rpc_error(span, error["code"], error.get("message"))
            return {"jsonrpc": "2.0", "id": request_id, "error": error}
        if span is not None:
            mark_tool_result(span, result.is_error)
        return message

    def _wire(self, result: types.CallToolResult, version: str) -> dict[str, Any]:
        """The result as the SDK puts it on the wire: sieved by the version's surface, typed, stamped."""
        dumped = plain_wire(result) if version == PLAIN_WIRE_VERSION else None
        if dumped is None:
            dumped = _sieved(result, version)
        dumped.setdefault("resultType", "complete")
        meta = dumped.get("_meta")
        if meta is None or (isinstance(meta, dict) and meta.get(SERVER_INFO_META_KEY) is None):
            dumped["_meta"] = {**(meta or {}), SERVER_INFO_META_KEY: self.server_info}
        return dumped


def _sieved(result: types.CallToolResult, version: str) -> dict[str, Any]:
    """The SDK's own serialization: dumped, then validated and dumped again by the version's surface."""
    dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    result_type = dumped.get("resultType")
    if not isinstance(result_type, str) or result_type in CORE_RESULT_TYPES:  # extension shapes are not sieved
        try:
            dumped = wire_methods.serialize_server_result(METHOD, version, dumped)
        except ValidationError:
            logger.exception("handler for %r returned an invalid result", METHOD)
            raise MCPError(code=INTERNAL_ERROR, message="Handler returned an invalid result") from None
    return dumped


class _Body:
    """What was read of a request body, and a `receive` that replays it for the SDK."""

    def __init__(self, receive: Receive) -> None:
        self.body: bytes | None = None  # None: not read whole (too large, or the client left)
        self.messages: list[Message] = []
        self._receive = receive

    async def replay(self) -> Message:
        return self.messages.pop(0) if self.messages else await self._receive()


async def read_body(receive: Receive, limit: int) -> _Body:
    read = _Body(receive)
    size = 0
    while True:
        message = await receive()
        read.messages.append(message)
        if message["type"] != "http.request":
            return read
        size += len(message.get("body", b""))
        if size > limit:
            return read  # the SDK answers 413
        if not message.get("more_body", False):
            read.body = b"".join(m.get("body", b"") for m in read.messages)
            return read


def _parse(body: bytes, headers: dict[bytes, bytes]) -> tuple[int | str, dict[str, Any]] | None:
    """(request id, params) of a well-formed `tools/call` that agrees with its headers; else None."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(message, dict) or message.keys() != _ENVELOPE or message["jsonrpc"] != "2.0":
        return None
    request_id, params = message["id"], message["params"]
    if isinstance(request_id, bool) or not isinstance(request_id, int | str) or message["method"] != METHOD:
        return None
    if not isinstance(params, dict) or not params.keys() <= _PARAMS or not _plain_params(params, headers):
        return None
    return (request_id, params) if _valid_meta(params) else None


def wanted_headers(
    scope: Scope, wanted: Collection[bytes], once: Collection[bytes], *, refused_prefix: bytes | None = None
) -> dict[bytes, bytes] | None:
    """The `wanted` headers of a POST, the first copy of each (as the SDK reads them); None when the request
    is no POST, repeats a header of `once`, or carries one starting with `refused_prefix`."""
    if scope.get("method") != "POST":
        return None
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in wanted:
            if name in found and name in once:
                return None
            found.setdefault(name, value)
        elif refused_prefix is not None and name.startswith(refused_prefix):
            return None
    return found


class HeaderVerdicts:
    """Whether a request's Content-Type, Accept, Host and Origin pass `judge`. A client sends the same four
    headers on every call: each distinct set is judged once (this and the `_meta` verdicts: 3 % of the
    gateway's instructions per governed call)."""

    def __init__(self, judge: Callable[[bytes | None, bytes | None, bytes | None, bytes | None], bool]) -> None:
        self._judge = judge
        self._memo: BoundedMemo[tuple[bytes | None, ...], bool] = BoundedMemo(_CACHE_BYTES)

    def __call__(self, headers: dict[bytes, bytes]) -> bool:
        key = (headers.get(b"content-type"), headers.get(b"accept"), headers.get(b"host"), headers.get(b"origin"))
        verdict = self._memo.lookup(key)
        if verdict is None:
            verdict = self._judge(*key)
            if sum(len(value or b"") for value in key) <= _MAX_KEY:  # the client's choice: small keys only
                self._memo.remember(key, verdict)
        return verdict


def _valid_meta(params: dict[str, Any]) -> bool:
    """The surface check the SDK runs before dispatch. With `name` a string, `arguments` an object or
    absent and no other key (`_plain_params`), only `_meta` can fail it, and a client sends the same
    `_meta` on every call: check each distinct one once (a pydantic validation, ~5 µs, saved per call).
    `repr` of parsed JSON tells every value apart (str, int, float and bool included): an exact key."""
    try:
        key = repr(params["_meta"])
    except RecursionError:
        return False  # the SDK answers this one
    valid = _META_VERDICTS.lookup(key)
    if valid is None:
        valid = _surface_accepts(params)
        if len(key) <= _MAX_KEY:  # the client's choice: small keys only (the memo bounds their number)
            _META_VERDICTS.remember(key, valid)
    return valid


def _surface_accepts(params: dict[str, Any]) -> bool:
    try:
        wire_methods.validate_client_request(METHOD, params["_meta"][PROTOCOL_VERSION_META_KEY], params)
    except (ValidationError, KeyError, ValueError):
        return False
    return True


def _plain_params(params: dict[str, Any], headers: dict[bytes, bytes]) -> bool:
    name, arguments, meta = params.get("name"), params.get("arguments"), params.get("_meta")
    if not isinstance(name, str) or not (arguments is None or isinstance(arguments, dict)):
        return False
    if not isinstance(meta, dict) or not isinstance(capabilities := meta.get(CLIENT_CAPABILITIES_META_KEY), dict):
        return False
    if "elicitation" in capabilities or "sampling" in capabilities:
        return False  # the upstream may ask this client for input: the SDK's path relays it (client_requests.py)
    if "progressToken" in meta or LOG_LEVEL_META_KEY in meta:
        return False  # progress or log messages are streamed: the SDK's event-stream path (`mcp_endpoint.py`)
    version = headers[b"mcp-protocol-version"].decode("latin-1")
    name_header = headers.get(b"mcp-name")
    shown = decode_header_value(name_header.decode("latin-1")) if name_header is not None else None
    return meta.get(PROTOCOL_VERSION_META_KEY) == version and shown == name


def allowed_by(security: TransportSecuritySettings, host: bytes | None, origin: bytes | None) -> bool:
    """The SDK's Host / Origin rules, for the passing case only (a refusal is left to the SDK)."""
    if not security.enable_dns_rebinding_protection:
        return True
    if not host or not _matches(host.decode("latin-1"), security.allowed_hosts):
        return False
    return not origin or _matches(origin.decode("latin-1"), security.allowed_origins)


def _matches(value: str, allowed: list[str]) -> bool:
    return value in allowed or any(a.endswith(":*") and value.startswith(a[:-1]) for a in allowed)


class DisconnectWatch:
    """Cancels the calling task when its client disconnects, watching only once the call has run
    `WATCH_AFTER` seconds: a call that ends sooner is answered anyway, and a plain call then pays one timer
    (~2 µs) instead of a watcher task (~25 µs; in a task group ~110 µs) and a cancel scope (~4 µs). The
    cancellation is the task's own (`Task.cancel`), so the caller tells it apart by `fired`. asyncio only
    (as uvicorn runs the app); elsewhere nothing is watched."""

    __slots__ = ("_caller", "_receive", "_timer", "_watcher", "disconnected", "fired")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._watcher: asyncio.Task[None] | None = None
        self._caller: asyncio.Task[Any] | None = None
        self.fired = False
        self.disconnected = False  # fired because the client went away (not by `cancel`)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on asyncio
            self._timer: asyncio.TimerHandle | None = None
            return
        self._caller = asyncio.current_task()
        self._timer = loop.call_later(WATCH_AFTER, self._arm)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._watcher is not None:
            self._watcher.cancel()

    def caller_uncancel(self) -> None:
        if self._caller is not None:
            self._caller.uncancel()

    def cancel(self) -> bool:
        """Cancel the call now (its client asked to, e.g. `notifications/cancelled`); False when it cannot be
        (not on asyncio, or already fired)."""
        if self._caller is None or self.fired:
            return False
        self.fired = True
        self._caller.cancel()
        return True

    def _arm(self) -> None:
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        try:
            while (await self._receive())["type"] != "http.disconnect":
                pass
        except Exception:  # noqa: BLE001 - a server whose receive fails after the body: the client is gone
            pass
        self.disconnected = True
        self.cancel()


async def send_json(send: Send, status: int, payload: bytes) -> None:
    headers = [(b"content-length", str(len(payload)).encode()), _RESPONSE_TYPE]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
