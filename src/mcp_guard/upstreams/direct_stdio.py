"""Tool calls to a stdio upstream written straight onto its stdin, their answers picked out of its stdout.

Through the SDK client a `tools/call` on stdio crosses the session's dispatcher, a memory stream to the
transport's writer task, pydantic's serializer, and on the way back the reader task, the whole message
validated as a JSON-RPC union, another memory stream and the dispatcher's per-request stream: four task
hops and two validations for one line each way. Here the call is one JSON line written on the child's
stdin (what the SDK writes: the session's own stamp fills `_meta` on a 2026-07-28 connection) and a future
that the transport's reader (`stdio.py`) resolves when the line answering it arrives; the result is built
by the session's own result adapter and checked against the tool's output schema by the session.

The pipe stays the SDK session's: `initialize`, listings, pings, notifications (list changes, logging,
progress, resource updates) and the server's own requests (elicitation, sampling) go through the session
as before. Direct calls carry string ids (`mcpg-1`, …) that the session never uses (its ids are integers),
so the reader tells their answers apart from everything else, which it hands to the session unchanged.

Kept by hand because it pays (issue 23, item 2; `bench/stdio_direct.py`, interleaved rounds in one run,
two runs on the shared 2-core VM; the rule: keep only at ≥ 10 %): the gateway's CPU per governed stdio call
is 0.60× / 0.57× that through the SDK session in process (0.672 against 1.128 ms, 0.352 against 0.618 ms),
and 0.70× / 0.64× over HTTP (1.48 against 2.12 ms, 1.12 against 1.76 ms), i.e. 40-43 % and 30-36 % saved;
over HTTP that leaves 0.06-0.18 ms above the gateway's in-process tool, against 0.70-0.82 ms before. In
process the governed call took 1.16× / 0.83× the p50 of a direct stdio call from the SDK client (before:
1.25× / 1.05×). Details in `bench/README.md` ("stdio upstreams: the direct path").

Guarantees kept from the SDK path: the call's timeout (`MCPError` -32001, then `notifications/cancelled`
to the child), a cancelled caller (`notifications/cancelled`, reason "caller cancelled"), a child that
dies or a connection that ends mid-call (`MCPError` -32000 "Connection closed" within the time `stdio.py`
takes to notice), a message that cannot be encoded (fails that call alone). Calls that want progress or
may be asked for client input go through the session instead (`link.py`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import mcp_types as types
from mcp import Client, MCPError
from mcp.client.session import ClientSession
from mcp_types import CONNECTION_CLOSED, INTERNAL_ERROR, REQUEST_TIMEOUT

from ..config import ServerConfig
from ..observability.tracing import inject_context
from .direct_result import call_tool_result

ID_PREFIX = "mcpg-"  # the session's own ids are integers: a string id with this prefix is ours
_MARK = f'"{ID_PREFIX}'
_compact_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode  # as pydantic writes it


class StdioPipe:
    """The direct calls waiting on one stdio child: the transport attaches the child's stdin and hands
    each line of its stdout to `answers` before the session sees it."""

    def __init__(self) -> None:
        self._stdin: asyncio.StreamWriter | None = None
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def attach(self, stdin: asyncio.StreamWriter) -> None:
        self._stdin = stdin

    def answers(self, line: str) -> bool:
        """Whether `line` answers a direct call (and so resolved its waiter); else it is the session's."""
        if not self._waiting or _MARK not in line:  # a substring test in C: nothing is parsed twice
            return False
        try:
            message = json.loads(line)
        except ValueError:
            return False  # the session's reader logs the unparsable line
        if not isinstance(message, dict) or "method" in message:
            return False
        request_id = message.get("id")
        waiter = self._waiting.pop(request_id, None) if isinstance(request_id, str) else None
        if waiter is None:
            return False
        if not waiter.done():
            waiter.set_result(message)
        return True

    def close(self) -> None:
        """The connection is over: every waiting call fails as the SDK session's do."""
        self._stdin = None
        waiting, self._waiting = self._waiting, {}
        for waiter in waiting.values():
            if not waiter.done():
                waiter.set_exception(MCPError(code=CONNECTION_CLOSED, message="Connection closed"))

    async def exchange(self, request_id: str, line: bytes, timeout: float) -> dict[str, Any]:
        """Write `line` and wait for the message answering `request_id`; `TimeoutError` after `timeout`."""
        stdin = self._stdin
        if stdin is None or stdin.is_closing():
            raise MCPError(code=CONNECTION_CLOSED, message="Connection closed")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._waiting[request_id] = waiter
        timer = loop.call_later(timeout, _expire, waiter)  # one timer: cheaper than a cancel scope per call
        written = False
        try:
            stdin.write(line)
            written = True
            await stdin.drain()
            return await waiter
        except TimeoutError:
            self._cancel(request_id, f"timed out after {timeout}s")
            raise
        except asyncio.CancelledError:
            if written:  # the child may have the request: tell it to stop (the spec's courtesy cancel)
                self._cancel(request_id, "caller cancelled")
            raise
        except (ConnectionError, OSError):
            raise MCPError(code=CONNECTION_CLOSED, message="Connection closed") from None
        finally:
            timer.cancel()
            self._waiting.pop(request_id, None)

    def _cancel(self, request_id: str, reason: str) -> None:
        """`notifications/cancelled`, written without waiting (a full pipe must not hold the caller)."""
        stdin = self._stdin
        if stdin is None or stdin.is_closing():
            return
        params = {"requestId": request_id, "reason": reason}
        notification = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params}
        stdin.write(_compact_json(notification).encode() + b"\n")


def unsendable(exc: Exception) -> str:
    """Why a message cannot be written to a stdio server, worded alike on both paths (pydantic's serializer
    and `json` word the same encoding error differently)."""
    if "surrogates not allowed" in str(exc):
        return "the message cannot be sent to a stdio server: a string in it is not valid Unicode (a lone surrogate)"
    return f"the message cannot be sent to a stdio server: {exc}"


def _expire(waiter: asyncio.Future[dict[str, Any]]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class DirectStdioCaller:
    """`tools/call` for one connected stdio upstream; `call` raises `MCPError` like the SDK client does."""

    def __init__(self, config: ServerConfig, pipe: StdioPipe, session: ClientSession, stamp: Any) -> None:
        self.timeout = config.call_timeout
        self.pipe = pipe
        self.session = session
        self._stamp = stamp
        self._next_id = 0

    @classmethod
    def open(cls, config: ServerConfig, client: Client, pipe: StdioPipe | None) -> DirectStdioCaller | None:
        """A caller for `client`'s stdio child when the transport handed over its pipe; else None."""
        stamp = getattr(client.session, "_stamp", None)  # the SDK's per-connection request stamp
        usable = config.transport == "stdio" and pipe is not None and callable(stamp)
        return cls(config, pipe, client.session, stamp) if usable and pipe is not None else None

    async def call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        data: dict[str, Any] = {"method": "tools/call", "params": {"name": tool, "arguments": arguments}}
        self._stamp(data, {})  # `_meta` on a 2026-07-28 connection (its HTTP headers do not apply to a pipe)
        inject_context({}, data["params"])  # traceparent in `_meta`, when tracing is on
        self._next_id += 1
        request_id = f"{ID_PREFIX}{self._next_id}"
        try:
            line = (_compact_json({"jsonrpc": "2.0", "id": request_id, **data}) + "\n").encode()
        except (ValueError, UnicodeEncodeError) as exc:  # e.g. a lone surrogate: this call only, as stdio.py does
            raise MCPError(code=INTERNAL_ERROR, message=unsendable(exc)) from None
        try:
            message = await self.pipe.exchange(request_id, line, self.timeout)
        except TimeoutError:
            raise MCPError(
                code=REQUEST_TIMEOUT, message=f"Request 'tools/call' timed out after {self.timeout:g}s"
            ) from None
        return await call_tool_result(self.session, tool, message)

    def close(self) -> None:
        """Nothing of its own to close: the pipe ends with the transport."""
