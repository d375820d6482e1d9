"""Tool calls to a 2026-07-28 streamable-HTTP upstream over plain keep-alive HTTP/1.1 connections.

`mcp.Client.call_tool` over streamable HTTP costs about a millisecond of CPU per call here: a task and
memory streams per POST in the transport, httpx2 and httpcore2 per request, the dispatcher, and the
result validated twice. A 2026-07-28 call is one self-contained POST, so this sends it directly: the
request is what the SDK would send (the session's own stamp fills `_meta` and the `Mcp-*` headers,
`Mcp-Param-*` included), and the reply is parsed into the same `CallToolResult` by the session's own
result adapter and checked against the tool's output schema by the session, as `call_tool` does.

Used only where it is the same conversation: a supervised `http` upstream that negotiated 2026-07-28, a
plain `http://` URL, no proxy configured in the environment, on asyncio. Everything else (and discovery,
health checks and change streams always) stays on the SDK client.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import anyio
import mcp_types as types
from mcp import Client, MCPError
from mcp.client.session import ClientSession
from mcp_types import CONNECTION_CLOSED, INTERNAL_ERROR, REQUEST_TIMEOUT
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..config import ServerConfig

_PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")
_MAX_IDLE = 64  # idle keep-alive connections kept per upstream
_FIXED_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class DirectHttpCaller:
    """`tools/call` for one connected upstream; `call` raises `MCPError` like the SDK client does."""

    def __init__(self, config: ServerConfig, session: ClientSession, stamp: Any) -> None:
        parts = urlsplit(config.url or "")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout = config.call_timeout
        self.session = session
        self._stamp = stamp
        self._headers = {**{k.lower(): v for k, v in config.headers.items()}, **_FIXED_HEADERS}
        self._idle: list[Connection] = []
        self._next_id = 0

    @classmethod
    def open(cls, config: ServerConfig, client: Client) -> DirectHttpCaller | None:
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
        return cls(config, client.session, stamp) if usable else None

    async def call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        data: dict[str, Any] = {"method": "tools/call", "params": {"name": tool, "arguments": arguments}}
        options: dict[str, Any] = {}
        self._stamp(data, options)  # `_meta` envelope, Mcp-Protocol-Version / -Method / -Name / -Param-*
        self._next_id += 1
        request_id = self._next_id
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, **data}, separators=(",", ":")).encode()
        try:
            with anyio.fail_after(self.timeout):
                message = await self._exchange(self._request(body, options.get("headers", {})), request_id)
        except TimeoutError:
            raise MCPError(code=REQUEST_TIMEOUT, message=f"Timed out after {self.timeout:g} s") from None
        return await self._result(tool, message)

    def close(self) -> None:
        """Close the idle connections (calls in flight close theirs when they end)."""
        idle, self._idle = self._idle, []
        for _reader, writer in idle:
            writer.close()

    def _request(self, body: bytes, headers: Mapping[str, str]) -> bytes:
        lines = [f"POST {self.target} HTTP/1.1", f"host: {self.host}:{self.port}", f"content-length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in {**self._headers, **headers}.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def _exchange(self, request: bytes, request_id: int) -> dict[str, Any]:
        """Send on a pooled connection (a fresh one if the pooled one was closed under us)."""
        connection, reused = self._take()
        for attempt in (1, 2):
            if connection is None:
                connection, reused = await self._connect(), False
            reader, writer = connection
            keep = False
            try:
                writer.write(request)
                status, message, keep = await _read_reply(reader, request_id)
            except _StaleConnection:
                if attempt == 1 and reused:  # the server closed an idle connection: nothing was processed
                    writer.close()
                    connection = None
                    continue
                raise MCPError(code=CONNECTION_CLOSED, message="Connection closed") from None
            except (OSError, asyncio.IncompleteReadError) as exc:
                raise MCPError(code=CONNECTION_CLOSED, message=f"Connection closed: {exc}") from None
            except ValueError as exc:  # not HTTP, or not JSON where JSON was promised
                raise MCPError(code=INTERNAL_ERROR, message=f"Unreadable reply: {exc}") from None
            finally:
                self._release(connection, keep)
            return _checked(status, message)
        raise MCPError(code=CONNECTION_CLOSED, message="Connection closed")  # unreachable: the loop returns

    def _take(self) -> tuple[Connection | None, bool]:
        while self._idle:
            reader, writer = self._idle.pop()
            if not (reader.at_eof() or writer.is_closing()):
                return (reader, writer), True
            writer.close()
        return None, False

    def _release(self, connection: Connection | None, keep: bool) -> None:
        if connection is None:
            return
        if keep and len(self._idle) < _MAX_IDLE:
            self._idle.append(connection)
        else:
            connection[1].close()

    async def _connect(self) -> Connection:
        try:
            return await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            raise MCPError(code=CONNECTION_CLOSED, message=f"Connection failed: {exc}") from None

    async def _result(self, tool: str, message: dict[str, Any]) -> types.CallToolResult:
        raw = message["result"]
        ttl = raw.get("ttlMs")
        if isinstance(ttl, int | float) and not isinstance(ttl, bool) and ttl < 0:
            raw["ttlMs"] = 0  # as the SDK client does: a negative cache hint must not fail the call
        result = self.session._call_tool_adapter.validate_python(raw, by_name=False)
        if not isinstance(result, types.CallToolResult):
            raise MCPError(code=INTERNAL_ERROR, message="the upstream asked for client input, which is not relayed")
        if not result.is_error:
            await self.session.validate_tool_result(tool, result)  # output schema, as `call_tool` checks it
        return result


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _StaleConnection(Exception):
    """The connection ended before any byte of the reply."""


async def _read_reply(reader: asyncio.StreamReader, request_id: int) -> tuple[int, dict[str, Any], bool]:
    """(status, the JSON-RPC reply to `request_id`, whether the connection can be reused)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise _StaleConnection from None
        raise
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = await _read_body(reader, headers)
    keep = headers.get("connection", "").lower() != "close"
    content_type = headers.get("content-type", "")
    if content_type.startswith("text/event-stream"):
        return status, _from_events(body, request_id), keep
    return status, json.loads(body) if body and content_type.startswith("application/json") else {}, keep


async def _read_body(reader: asyncio.StreamReader, headers: Mapping[str, str]) -> bytes:
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return b"".join(chunks)
            chunks.append(chunk[:-2])
    return await reader.read()  # delimited by the connection closing


def _from_events(body: bytes, request_id: int) -> dict[str, Any]:
    """The reply to `request_id` among an SSE stream's messages (notifications before it are dropped)."""
    for event in body.decode().replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(line[5:].lstrip() for line in event.split("\n") if line.startswith("data:"))
        if data:
            message = json.loads(data)
            if isinstance(message, dict) and message.get("id") == request_id:
                return message
    raise ValueError("the event stream ended without a reply")


def _checked(status: int, message: dict[str, Any]) -> dict[str, Any]:
    """The reply, or the `MCPError` the SDK client raises for a JSON-RPC error or an HTTP failure."""
    error = message.get("error")
    if isinstance(error, dict):
        raise MCPError(code=int(error.get("code", INTERNAL_ERROR)), message=str(error.get("message", "")))
    if status >= 300 or not isinstance(message.get("result"), dict):
        raise MCPError(code=INTERNAL_ERROR, message=f"HTTP {status} without a JSON-RPC result")
    return message
