"""The floor under any Python ASGI gateway: a transparent reverse proxy on the gateway's own HTTP stack.

    python bench/proxy_floor.py --upstream http://127.0.0.1:9100/mcp --port 9300 [--json]

It runs uvicorn exactly as `serve_gateway.py` does (httptools, no access log) and forwards every POST
and DELETE to the upstream on a pooled keep-alive connection of the gateway's own upstream client
(`upstreams/direct_http._Connection`, httptools): the request's body and MCP headers out, the reply's
status, content type, session id and body back (JSON replies, as the echo upstream gives: the gateway's
connection keeps no event-stream body). No governance, no MCP: what a Python gateway on uvicorn
pays per call before it does anything of its own. `--json` also parses the request and the reply and
encodes them again (what the least MCP-aware proxy does: it must read the method and the tool's name).

`session_fast_path.py --floor` runs it beside the gateway, so "gateway CPU per call ÷ the upstream's"
can be read against the floor's in the same rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvicorn  # noqa: E402

from mcp_guard.upstreams.direct_http import Reply, _Connection, _StaleConnection  # noqa: E402

_FORWARDED = (b"content-type", b"accept", b"last-event-id")  # and every `mcp-*` header


class _HeaderConnection(_Connection):
    """The gateway's upstream connection, also keeping the reply's `mcp-session-id`."""

    session_id: bytes = b""

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        if name.lower() == b"mcp-session-id":
            self.session_id = value


class Floor:
    def __init__(self, upstream: str, reencode: bool) -> None:
        parts = urlsplit(upstream)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
        self.reencode = reencode
        self.idle: list[_HeaderConnection] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["method"] not in ("POST", "DELETE"):
            await send({"type": "http.response.start", "status": 405, "headers": [(b"allow", b"POST, DELETE")]})
            await send({"type": "http.response.body", "body": b""})
            return
        body = await _body(receive)
        if self.reencode and body:
            body = json.dumps(json.loads(body), separators=(",", ":")).encode()
        status, content_type, session_id, reply = await self.forward(scope, body)
        if self.reencode and content_type.startswith(b"application/json") and reply:
            reply = json.dumps(json.loads(reply), separators=(",", ":")).encode()
        headers = [(b"content-type", content_type)] if content_type else []
        headers += [(b"mcp-session-id", session_id)] if session_id else []
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": reply})

    async def forward(self, scope: dict[str, Any], body: bytes) -> tuple[int, bytes, bytes, bytes]:
        lines = [f"{scope['method']} {self.path} HTTP/1.1", f"host: {self.host}:{self.port}"]
        forwarded = [(k, v) for k, v in scope["headers"] if k in _FORWARDED or k.startswith(b"mcp-")]
        lines += [f"{k.decode()}: {v.decode()}" for k, v in forwarded]
        request = ("\r\n".join(lines) + f"\r\ncontent-length: {len(body)}\r\n\r\n").encode("latin-1") + body
        reply, connection = await self.exchange(request)
        if reply.keep_alive and connection.usable():
            self.idle.append(connection)
        else:
            connection.close()
        return reply.status, reply.content_type.encode("latin-1"), connection.session_id, reply.body

    async def exchange(self, request: bytes) -> tuple[Reply, _HeaderConnection]:
        """On an idle connection; a fresh one if the upstream closed the idle one (keep-alive timeout)."""
        while self.idle:
            connection = self.idle.pop()
            if connection.usable():
                try:
                    return await self._exchange(connection, request), connection
                except _StaleConnection:
                    connection.close()
        connection = await self.connect()
        return await self._exchange(connection, request), connection

    @staticmethod
    async def _exchange(connection: _HeaderConnection, request: bytes) -> Reply:
        connection.session_id = b""
        return await connection.exchange(request, asyncio.get_running_loop().time() + 30)

    async def connect(self) -> _HeaderConnection:
        _transport, connection = await asyncio.get_running_loop().create_connection(
            _HeaderConnection, self.host, self.port
        )
        return connection


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--json", action="store_true", help="parse and re-encode request and reply")
    args = parser.parse_args()
    app = Floor(args.upstream, args.json)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, lifespan="on")


if __name__ == "__main__":
    main()
