"""Small raw-ASGI helpers shared by the router and the middlewares (the core uses no web framework)."""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

import pydantic_core

from .errors import BadRequest, BodyTooLarge, GatewayError
from .state import RequestState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Headers = list[tuple[bytes, bytes]]

PROBLEM_JSON = b"application/problem+json"


def header_values(scope: Scope, name: bytes) -> list[str]:
    """Every value of a header, in order; repeated headers are kept on purpose (never `dict(headers)`)."""
    return [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == name]


def header(scope: Scope, name: bytes) -> str | None:
    values = header_values(scope, name)
    return values[0] if values else None


def app_path(scope: Scope) -> str:
    """`path` below `root_path`: what an app's routes match (below a mount point, the path inside it),
    whether the framework kept `path` whole or stripped it."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def route_path(scope: Scope) -> str:
    """The path below the mount point, without a trailing slash."""
    return app_path(scope).rstrip("/") or "/"


async def read_body(receive: Any, limit: int) -> bytes:
    """The whole request body; `BodyTooLarge` as soon as it passes `limit` (nothing more is buffered)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest("client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"Request body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_json(
    send: Any,
    status: int,
    body: Any,
    *,
    headers: Iterable[tuple[bytes, bytes]] = (),
    content_type: bytes = b"application/json",
) -> None:
    payload = pydantic_core.to_json(body)
    raw_headers: Headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(payload)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


def problem_body(error: GatewayError, instance: str | None = None) -> dict[str, Any]:
    """RFC 9457 problem details for a `GatewayError`."""
    body: dict[str, Any] = {
        "type": f"urn:mcp-guard:problem:{error.reason}",
        "title": error.title,
        "status": error.status,
        "detail": error.message,
    }
    if instance:
        body["instance"] = instance
    body.update(error.extra)
    return body


def close_reason(error: GatewayError) -> str:
    """A websocket close reason for a refusal: its message, within the 123 bytes of UTF-8 a close frame allows."""
    return error.message.encode()[:120].decode(errors="ignore")


async def send_problem(send: Any, error: GatewayError, scope: Scope | None = None) -> None:
    """The one renderer for every HTTP refusal."""
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items()]
    instance = scope.get("path") if scope is not None else None
    if scope is not None:  # for the request's log line and refusal metrics (`observability`)
        RequestState.from_scope(scope).refusal = error
    await send_json(send, error.status, problem_body(error, instance), headers=headers, content_type=PROBLEM_JSON)


async def run_lifespan(lifespan: Any, scope: Scope, receive: Any, send: Any) -> None:
    """Speak the ASGI lifespan protocol around an async context manager (for standalone serving)."""
    await receive()  # lifespan.startup
    started = False
    try:
        async with lifespan:
            await send({"type": "lifespan.startup.complete"})
            started = True
            await receive()  # lifespan.shutdown
    except Exception as exc:
        kind = "shutdown" if started else "startup"
        await send({"type": f"lifespan.{kind}.failed", "message": f"{type(exc).__name__}: {exc}"})
        return
    await send({"type": "lifespan.shutdown.complete"})
