"""Tool calls to a 2026-07-28 streamable-HTTP upstream over plain keep-alive HTTP/1.1 connections.

`mcp.Client.call_tool` over streamable HTTP costs about a millisecond of CPU per call here: a task and
memory streams per POST in the transport, httpx2 and httpcore2 per request, the dispatcher, and the
result validated twice. A 2026-07-28 call is one self-contained POST, so this sends it directly: the
request is what the SDK would send (the session's own stamp fills `_meta` and the `Mcp-*` headers,
`Mcp-Param-*` included), and the reply is parsed into the same `CallToolResult` by the session's own
result adapter and checked against the tool's output schema by the session, as `call_tool` does.

Each connection is an asyncio protocol whose reply is parsed by httptools (C, a dependency of ours for
uvicorn) and handed over in one future; the call's timeout is one timer on that future. Against the
earlier stream reader, header parsing in Python and an anyio cancel scope per call, this saves 4-5 % of
the gateway's instructions per governed call (~20 µs).

Kept by hand because it pays (issue 23, item 5; `bench/handwritten.py`, interleaved rounds in one run,
the same exchange done by each client): gateway CPU per governed call is 0.66× that with httpx2 (what the
SDK uses) and 0.85× that with aiohttp's client, i.e. 34 % and 15 % saved (the rule: keep only at ≥ 10 %).
The client's own CPU per call was ~270 µs against ~430 µs (aiohttp) and ~960 µs (httpx2). The margin over
aiohttp is noisy on the shared 2-core VM (a second run: 34 % and 16 %; single rounds -29 % to +32 %, two
shorter runs' medians 7 % and 27 %): re-run the bench on a quiet machine before relying on it.

A call that may relay progress or questions to its client (the caller sent a progress token, or can be
asked for input: `link.py`) takes this path too, as the SDK client would make it: the request carries a
`progressToken` (its request id, as the SDK's dispatcher sets it); an event-stream reply is parsed as it
arrives by the SDK's own incremental SSE parser (`event_stream.py`; httpx2's, with the SDK's 1 MiB event limit), each
`notifications/progress` for the call handed to the call's progress sink in order, before the result (and,
for a call that asked for log messages at a level, each `notifications/message` to the upstream's log
relay, as the SDK client's message handler hands it on); the first JSON-RPC response on the stream is the
answer (the stream is then let go, as the SDK lets it go). An
`input_required` result is returned to `Link`, which runs the SDK client's own input-required loop over it
(`relayed_call`), each retry a call of this path with the answers and the request state. Other messages on
the stream (requests, other notifications: not sent on a 2026-07-28 call) are dropped, as before.
A call cancelled or timed out closes its connection: on this wire, that is the cancellation the upstream
hears (the SDK client aborts the POST's stream the same way instead of sending `notifications/cancelled`).

Used only where it is the same conversation: a supervised `http` upstream that negotiated 2026-07-28, a
plain `http://` URL, no proxy configured in the environment, on asyncio. Everything else (and discovery,
health checks and change streams always) stays on the SDK client.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httptools
import mcp_types as types
from httpx2 import SSEError
from mcp import Client, MCPError
from mcp.client.session import ClientSession
from mcp_types import CONNECTION_CLOSED, INTERNAL_ERROR, LOG_LEVEL_META_KEY, REQUEST_TIMEOUT
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..config import ServerConfig
from ..observability.tracing import inject_context
from ..progress import ProgressSink
from .base import LogMessage
from .direct_result import call_tool_outcome, call_tool_result
from .event_stream import EventStream, Listener

_PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")
_MAX_IDLE = 64  # idle keep-alive connections kept per upstream
_FIXED_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
_LENGTH_HEADERS = (b"content-length", b"transfer-encoding")
_compact_json = json.JSONEncoder(separators=(",", ":")).encode  # one encoder, not one per `json.dumps` call
_EVENT_STREAM = b"text/event-stream"


class Undelivered(MCPError):
    """The call never left: no connection to the upstream could be opened. Safe to send again."""


class Reply(NamedTuple):
    status: int
    content_type: str
    body: bytes
    keep_alive: bool
    answer: dict[str, Any] | None = None  # the first JSON-RPC response of an event stream (its `body` is empty)


class DirectHttpCaller:
    """`tools/call` for one connected upstream; `call` raises `MCPError` like the SDK client does."""

    def __init__(
        self, config: ServerConfig, session: ClientSession, stamp: Any, on_log: LogMessage | None = None
    ) -> None:
        parts = urlsplit(config.url or "")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout = config.call_timeout
        self.session = session
        self._stamp = stamp
        self._on_log = on_log  # where the log messages of a call that asked for them go
        self._headers = {**{k.lower(): v for k, v in config.headers.items()}, **_FIXED_HEADERS}
        # The request line and the headers every call sends, joined once (a call adds its `Mcp-*` ones).
        lines = [f"POST {self.target} HTTP/1.1", f"host: {self.host}:{self.port}"]
        self._head = "\r\n".join(lines + [f"{name}: {value}" for name, value in self._headers.items()]) + "\r\n"
        self._idle: list[_Connection] = []
        self._next_id = 0

    @classmethod
    def open(cls, config: ServerConfig, client: Client, on_log: LogMessage | None = None) -> DirectHttpCaller | None:
        """A caller for `client`'s upstream when the direct path speaks for it exactly; else None."""
        stamp = getattr(client.session, "_stamp", None)  # the SDK's per-connection request stamp
        usable = (
            config.transport == "http"
            and (config.url or "").startswith("http://")
            and client.protocol_version in MODERN_PROTOCOL_VERSIONS
            and not any(os.environ.get(name) for name in _PROXY_VARIABLES)
            and callable(stamp)
            and _on_asyncio()
        )
        return cls(config, client.session, stamp, on_log) if usable else None

    async def call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        message = await self._send({"name": tool, "arguments": arguments}, None, False)
        return await call_tool_result(self.session, tool, message)

    async def call_relaying(
        self,
        tool: str,
        arguments: dict[str, Any],
        progress: ProgressSink | None,
        responses: types.InputResponses | None = None,
        state: str | None = None,
        log_level: types.LoggingLevel | None = None,
    ) -> types.CallToolResult | types.InputRequiredResult:
        """One round of a call whose client may hear progress (`progress`) and log messages (`log_level`), or
        be asked for input: the result, or the upstream's questions (`InputRequiredResult`, for the SDK's
        input-required loop: `link.py`)."""
        params: dict[str, Any] = {"name": tool, "arguments": arguments}
        if responses is not None or state is not None:  # a retry round: the SDK's own serialization of both
            answered = types.CallToolRequestParams(
                name=tool, arguments=arguments, input_responses=responses, request_state=state
            )
            params = answered.model_dump(by_alias=True, mode="json", exclude_none=True)
        if log_level is not None:  # as `Client.call_tool(meta=...)` sends it: the stamp keeps a level it finds
            params["_meta"] = {LOG_LEVEL_META_KEY: log_level}
        listening = progress is not None or (log_level is not None and self._on_log is not None)
        return await call_tool_outcome(self.session, tool, await self._send(params, progress, listening))

    async def _send(self, params: dict[str, Any], progress: ProgressSink | None, listening: bool) -> dict[str, Any]:
        """The JSON-RPC message answering a `tools/call` with `params` (progress, if any, to `progress`; the
        stream's log messages, when `listening`, to the log relay)."""
        data: dict[str, Any] = {"method": "tools/call", "params": params}
        options: dict[str, Any] = {}
        self._stamp(data, options)  # `_meta` envelope, Mcp-Protocol-Version / -Method / -Name / -Param-*
        self._next_id += 1
        request_id = self._next_id
        if progress is not None:  # the request id doubles as the progress token, as in the SDK's dispatcher
            data["params"]["_meta"] = {**data["params"].get("_meta", {}), "progressToken": request_id}
        inject_context(options.setdefault("headers", {}), data["params"])  # traceparent, when tracing is on
        body = _compact_json({"jsonrpc": "2.0", "id": request_id, **data}).encode()
        deadline = asyncio.get_running_loop().time() + self.timeout
        request = self._request(body, options.get("headers", {}))
        listener = Listener(request_id, progress, self._on_log) if listening else None
        try:
            return await self._exchange(request, listener, deadline)
        except TimeoutError:
            raise MCPError(code=REQUEST_TIMEOUT, message=f"Timed out after {self.timeout:g} s") from None

    def close(self) -> None:
        """Close the idle connections (calls in flight close theirs when they end)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _request(self, body: bytes, headers: Mapping[str, str]) -> bytes:
        if headers.keys() & self._headers.keys():  # a stamped header replaces a configured one
            lines = [f"POST {self.target} HTTP/1.1", f"host: {self.host}:{self.port}"]
            head = "\r\n".join(lines + [f"{k}: {v}" for k, v in {**self._headers, **headers}.items()]) + "\r\n"
        else:
            head = self._head + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        return f"{head}content-length: {len(body)}\r\n\r\n".encode("latin-1") + body

    async def _exchange(self, request: bytes, listener: Listener | None, deadline: float) -> dict[str, Any]:
        """Send on a pooled connection (a fresh one if the pooled one was closed under us)."""
        connection, reused = self._take()
        for attempt in (1, 2):
            if connection is None:
                connection, reused = await self._connect(deadline), False
            reply = None
            try:
                reply = await connection.exchange(request, deadline, listener)
                return _checked(reply.status, _decode(reply))
            except _StaleConnection:
                if attempt == 1 and reused:  # the server closed an idle connection: nothing was processed
                    connection.close()
                    connection = None
                    continue
                raise MCPError(code=CONNECTION_CLOSED, message="Connection closed") from None
            except ConnectionError as exc:
                raise MCPError(code=CONNECTION_CLOSED, message=f"Connection closed: {exc}") from None
            except SSEError as exc:  # what the SDK's transport answers for an event over its size limit
                raise MCPError(code=CONNECTION_CLOSED, message=f"SSE stream failed: {exc}") from None
            except ValueError as exc:  # not HTTP, or not JSON where JSON was promised
                raise MCPError(code=INTERNAL_ERROR, message=f"Unreadable reply: {exc}") from None
            finally:
                self._release(connection, reply is not None and reply.keep_alive)
        raise MCPError(code=CONNECTION_CLOSED, message="Connection closed")  # unreachable: the loop returns

    def _take(self) -> tuple[_Connection | None, bool]:
        while self._idle:
            connection = self._idle.pop()
            if connection.usable():
                return connection, True
            connection.close()
        return None, False

    def _release(self, connection: _Connection | None, keep: bool) -> None:
        if connection is None:
            return
        if keep and len(self._idle) < _MAX_IDLE and connection.usable():
            self._idle.append(connection)
        else:
            connection.close()

    async def _connect(self, deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(deadline):
                _transport, connection = await loop.create_connection(_Connection, self.host, self.port)
        except TimeoutError:
            raise
        except OSError as exc:
            raise Undelivered(code=CONNECTION_CLOSED, message=f"Connection failed: {exc}") from None
        return connection


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _StaleConnection(Exception):
    """The connection ended before any byte of the reply."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection to the upstream carrying one exchange at a time; httptools calls the
    `on_*` methods while it parses the reply. An event-stream reply is parsed as it arrives: its first
    JSON-RPC response is the answer, its progress notifications go to the exchange's `Listener`."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._parser = httptools.HttpResponseParser(self)
        self._reply: asyncio.Future[Reply] | None = None
        self._listener: Listener | None = None
        self._started = self._headers_done = self._delimited = self._complete = False
        self._content_type = b""
        self._body: list[bytes] = []
        self._events: EventStream | None = None

    def usable(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    async def exchange(self, request: bytes, deadline: float, listener: Listener | None = None) -> Reply:
        """Send `request`; the reply, or `TimeoutError` at `deadline` (the connection is then unusable)."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Reply] = loop.create_future()
        self._reply, self._listener = reply, listener
        self._started = self._headers_done = self._delimited = self._complete = False
        self._content_type, self._body, self._events = b"", [], None
        self.transport.write(request)
        timer = loop.call_at(deadline, _expire, reply)  # one timer: cheaper than a cancel scope per call
        try:
            return await (reply if listener is None else listener.relay_until(reply))
        finally:
            timer.cancel()
            self._reply = self._listener = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._reply is None or self._reply.done():  # bytes nobody asked for: the stream is out of step
            self.close()
            return
        self._started = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            cause = exc.__context__  # what an `on_*` callback raised: an event over the limit, or no JSON
            unread = ValueError(f"not an HTTP reply ({exc})")
            self._settle(error=cause if isinstance(cause, SSEError | ValueError) else unread)
            self.close()
            return
        events = self._events
        if events is not None and events.answer is not None and not self._complete:
            # The answer came and the stream goes on: answer now, as the SDK does, and let the connection go.
            self._settle(self._reply_of(keep=False))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._headers_done and not self._delimited:  # a body delimited by the connection closing
            self.on_message_complete()
        elif not self._started:
            self._settle(error=_StaleConnection())
        else:
            self._settle(error=ConnectionError("the upstream closed the connection mid-reply"))

    # -- httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-type":
            self._content_type = value
        elif name in _LENGTH_HEADERS:
            self._delimited = True

    def on_headers_complete(self) -> None:
        self._headers_done = True
        if self._content_type.lower().startswith(_EVENT_STREAM) and self._parser.get_status_code() < 300:
            self._events = EventStream(self._listener)

    def on_body(self, body: bytes) -> None:
        if self._events is not None:  # parsed as it comes, never kept whole: a long stream costs no memory
            self._events.feed(body)  # SSEError (an event over the limit) ends the exchange: `data_received`
        else:
            self._body.append(body)

    def on_message_complete(self) -> None:
        self._complete = True
        if self._events is not None:
            self._events.end()
        self._settle(self._reply_of(keep=not self.closed and self._parser.should_keep_alive()))

    def _reply_of(self, keep: bool) -> Reply:
        answer = self._events.answer if self._events is not None else None
        content_type = self._content_type.decode("latin-1")
        return Reply(self._parser.get_status_code(), content_type, b"".join(self._body), keep, answer)

    def _settle(self, reply: Reply | None = None, error: Exception | None = None) -> None:
        future = self._reply
        if future is None or future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(reply)  # type: ignore[arg-type]


def _expire(reply: asyncio.Future[Reply]) -> None:
    if not reply.done():
        reply.set_exception(TimeoutError())


def _decode(reply: Reply) -> dict[str, Any]:
    """The JSON-RPC message of a reply: JSON, or the answer an event stream carried."""
    if reply.content_type.lower().startswith("text/event-stream") and reply.status < 300:
        if reply.answer is None:
            raise ValueError("the event stream ended without a reply")
        return reply.answer
    return json.loads(reply.body) if reply.body and reply.content_type.startswith("application/json") else {}


def _checked(status: int, message: dict[str, Any]) -> dict[str, Any]:
    """The reply (a JSON-RPC error too: `call_tool_result` raises it), or the `MCPError` the SDK client
    raises for an HTTP failure."""
    if isinstance(message.get("error"), dict):
        return message  # `call_tool_result` raises it
    if status >= 300 or not isinstance(message.get("result"), dict):
        raise MCPError(code=INTERNAL_ERROR, message=f"HTTP {status} without a JSON-RPC result")
    return message
