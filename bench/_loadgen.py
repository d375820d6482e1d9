"""The load generator: one process (pinned by the caller to the load core) running N client sessions as
concurrent tasks, closed loop, each calling one tool over and over.

Two clients, chosen per run:

- `mcp`: the SDK's `mcp.Client` over streamable HTTP (it negotiates 2026-07-28 with every target here).
  It is what an agent would use, but it costs ~1 ms of CPU per call on this machine, so one core of it
  tops out below 1,000 calls/s: past that it, not the server, is the limit (its CPU is reported).
- `wire`: the same 2026-07-28 `tools/call` POSTs, byte for byte what `mcp.Client` sends (headers, `_meta`,
  JSON-RPC envelope), over one keep-alive HTTP/1.1 connection per session, with the reply parsed as JSON
  and checked (`result`, `isError` false). It costs ~0.1 ms per call, so it measures the server's limit.
- `handshake`: the `wire` client in the handshake era, as the clients most people run (Claude Desktop,
  Cursor, the Inspector, most SDK versions) speak it: `initialize` (`protocol`, default 2025-11-25, with the
  client `capabilities` of the spec, default none), `notifications/initialized`, then `tools/call` POSTs
  carrying `Mcp-Session-Id` and `MCP-Protocol-Version`, no 2026-07-28 headers, no `_meta` (with `progress`
  in the spec, a `progressToken` per call, as the Inspector sends).

    python bench/_loadgen.py '{"url": ..., "tool": "echo", "client": "wire", "sessions": 16, "seconds": 5}'

Prints one JSON line: calls, errors (and the first error), elapsed, latencies, and this process's CPU.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from _common import summary_ms

PROTOCOL = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": PROTOCOL,
    "io.modelcontextprotocol/clientInfo": {"name": "mcp", "version": "0.1.0"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
ARGUMENTS = {"text": "x"}

Call = Callable[[], Awaitable[None]]


class CallFailed(Exception):
    """A call that did not come back as a successful tool result."""


# -- the wire client ---------------------------------------------------------------------------------


class WireSession:
    """One keep-alive connection sending `tools/call` POSTs and reading JSON replies."""

    def __init__(self, url: str, tool: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
        self.tool = tool
        head = {
            "Host": f"{self.host}:{self.port}",
            "Accept-Encoding": "gzip, deflate",
            "Connection": "keep-alive",
            "User-Agent": "python-httpx2/2.16.2",
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
            "mcp-protocol-version": PROTOCOL,
            "mcp-method": "tools/call",
            "mcp-name": tool,
            **headers,
        }
        self._head = "".join(f"{k}: {v}\r\n" for k, v in head.items())
        self._id = 1
        self._headers: dict[str, str] = {}  # of the last response
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    async def call(self) -> None:
        self._id += 1
        params = {"name": self.tool, "arguments": ARGUMENTS, "_meta": META}
        status, reply = await self.post({"jsonrpc": "2.0", "id": self._id, "method": "tools/call", "params": params})
        _check(status, reply)

    async def post(self, message: dict[str, Any]) -> tuple[int, bytes]:
        assert self._reader is not None and self._writer is not None
        payload = json.dumps(message).encode()
        request = f"POST {self.path} HTTP/1.1\r\n{self._head}Content-Length: {len(payload)}\r\n\r\n"
        self._writer.write(request.encode() + payload)
        return await self._response()

    async def _response(self) -> tuple[int, bytes]:
        assert self._reader is not None
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        self._headers = headers
        if "content-length" in headers:
            return status, await self._reader.readexactly(int(headers["content-length"]))
        if headers.get("transfer-encoding") == "chunked":
            return status, await self._chunked()
        raise CallFailed(f"HTTP {status} without a length: {headers}")

    async def _chunked(self) -> bytes:
        assert self._reader is not None
        chunks: list[bytes] = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            data = await self._reader.readexactly(size + 2)
            if size == 0:
                return b"".join(chunks)
            chunks.append(data[:-2])


class HandshakeSession(WireSession):
    """A handshake-era session: opened with `initialize`, then `tools/call` POSTs on it."""

    def __init__(self, url: str, tool: str, headers: dict[str, str], spec: dict[str, Any]):
        super().__init__(url, tool, headers)
        self.protocol = spec.get("protocol", "2025-11-25")
        self.capabilities, self.progress = spec.get("capabilities", {}), bool(spec.get("progress"))
        self._base = "".join(
            line + "\r\n" for line in self._head.split("\r\n") if line and not line.lower().startswith("mcp-")
        )
        self._head = self._base

    async def connect(self) -> None:
        await super().connect()
        client = {"name": "bench-handshake", "version": "1.0"}
        params = {"protocolVersion": self.protocol, "capabilities": self.capabilities, "clientInfo": client}
        status, reply = await self.post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
        session = self._headers.get("mcp-session-id")
        if status != 200 or session is None:
            raise CallFailed(f"initialize: HTTP {status} {reply[:200]!r}")
        self._head = f"{self._base}mcp-session-id: {session}\r\nmcp-protocol-version: {self.protocol}\r\n"
        status, reply = await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        if status != 202:
            raise CallFailed(f"notifications/initialized: HTTP {status} {reply[:200]!r}")

    async def call(self) -> None:
        self._id += 1
        params: dict[str, Any] = {"name": self.tool, "arguments": ARGUMENTS}
        if self.progress:
            params["_meta"] = {"progressToken": self._id}
        status, reply = await self.post({"jsonrpc": "2.0", "id": self._id, "method": "tools/call", "params": params})
        _check(status, reply)


def _check(status: int, reply: bytes) -> None:
    if status != 200:
        raise CallFailed(f"HTTP {status}: {reply[:200]!r}")
    text = reply.decode()
    if text.startswith("event:") or text.startswith("data:"):  # an SSE reply: the last data line is the answer
        text = [line[5:] for line in text.splitlines() if line.startswith("data:")][-1]
    message = json.loads(text)
    result = message.get("result")
    if result is None or result.get("isError"):
        raise CallFailed(f"not a successful result: {text[:300]}")


# -- the mcp client ----------------------------------------------------------------------------------


async def mcp_session(url: str, tool: str, headers: dict[str, str], run: Callable[[Call], Awaitable[None]]) -> None:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        if not client.protocol_version.startswith("2026"):
            raise CallFailed(f"negotiated {client.protocol_version}, not 2026-07-28")

        async def call() -> None:
            result = await client.call_tool(tool, ARGUMENTS)
            if result.is_error:
                raise CallFailed(f"is_error result: {result.content}")

        await run(call)


async def stdio_session(argv: list[str], tool: str, run: Callable[[Call], Awaitable[None]]) -> None:
    """The SDK's `mcp.Client` over stdio: `argv` run as this process's child (a direct call, no gateway)."""
    from mcp import Client, StdioServerParameters

    async with Client(StdioServerParameters(command=argv[0], args=argv[1:])) as client:

        async def call() -> None:
            result = await client.call_tool(tool, ARGUMENTS)
            if result.is_error:
                raise CallFailed(f"is_error result: {result.content}")

        await run(call)


async def wire_session(
    url: str, tool: str, headers: dict[str, str], run: Callable[[Call], Awaitable[None]], spec: dict[str, Any]
) -> None:
    if spec.get("client") == "handshake":
        session: WireSession = HandshakeSession(url, tool, headers, spec)
    else:
        session = WireSession(url, tool, headers)
    await session.connect()
    try:
        await run(session.call)
    finally:
        await session.close()


# -- the closed loop ---------------------------------------------------------------------------------


class Run:
    """Shared by every session of one run: the start signal, the clock and what was measured."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.warmup = int(spec.get("warmup", 20))
        self.calls_per_session = spec.get("calls_per_session")
        self.seconds = float(spec.get("seconds", 5.0))
        self.start = asyncio.Event()
        self.ready = 0
        self.deadline = 0.0
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error: str | None = None

    async def loop(self, call: Call) -> None:
        for _ in range(self.warmup):
            await self._timed(call, record=False)
        self.ready += 1
        await self.start.wait()
        done = 0
        while time.perf_counter() < self.deadline:
            await self._timed(call, record=True)
            done += 1
            if self.calls_per_session is not None and done >= self.calls_per_session:
                return

    async def _timed(self, call: Call, *, record: bool) -> None:
        began = time.perf_counter()
        try:
            await call()
        except Exception as exc:  # noqa: BLE001 - every failure is counted and the first one shown
            self.errors += record
            self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"[:400]
            await asyncio.sleep(0.01)  # a failing target must not turn the loop into a busy spin
            return
        if record:
            self.latencies.append((time.perf_counter() - began) * 1000.0)


async def main(spec: dict[str, Any]) -> dict[str, Any]:
    run = Run(spec)
    sessions = int(spec["sessions"])
    headers = dict(spec.get("headers", {}))
    if "stdio" in spec:  # the `mcp` client over stdio, on a child it starts per session
        opened = [stdio_session(spec["stdio"], spec["tool"], run.loop) for _ in range(sessions)]
    elif spec.get("client", "mcp") == "mcp":
        opened = [mcp_session(spec["url"], spec["tool"], headers, run.loop) for _ in range(sessions)]
    else:
        opened = [wire_session(spec["url"], spec["tool"], headers, run.loop, spec) for _ in range(sessions)]
    tasks = [asyncio.create_task(each) for each in opened]
    while run.ready < sessions:
        if any(t.done() for t in tasks):
            break
        await asyncio.sleep(0.01)
    print("READY", flush=True)  # the harness samples the server's CPU from here
    sys.stdin.readline()  # ... and says go
    cpu0, began = time.process_time(), time.perf_counter()
    limit = run.seconds if run.calls_per_session is None else 3600.0
    run.deadline = began + limit
    run.start.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu0
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    return {
        "sessions": sessions,
        "calls": len(run.latencies),
        "errors": run.errors + len(failed),
        "first_error": run.first_error or (f"{type(failed[0]).__name__}: {failed[0]}"[:400] if failed else None),
        "elapsed_s": round(elapsed, 3),
        "calls_per_s": round(len(run.latencies) / elapsed, 1) if elapsed else 0.0,
        "loadgen_cpu_util": round(cpu / elapsed, 2) if elapsed else 0.0,
        **summary_ms(run.latencies),
    }


if __name__ == "__main__":
    result = asyncio.run(main(json.loads(sys.argv[1])))
    print(json.dumps(result), flush=True)
