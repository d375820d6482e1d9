"""`ObservedApp`: the outermost layer of a governed app. It answers the operations endpoints before any
middleware asks for a key, opens the HTTP request's span (child of the client's `traceparent`; see
`Tracing.request` for when it is recorded), and when
the request is answered counts a refusal made at the door and writes the request's log line."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..asgi import Message, Scope
from ..state import RequestState

if TYPE_CHECKING:
    from ..host import GatewayHost


class ObservedApp:
    def __init__(self, app: Any, *, gateway: GatewayHost) -> None:
        self.app = app
        self.gateway = gateway
        self.observer = gateway.observer
        self.operations = gateway.operations.at_paths()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = self.operations.get(scope.get("path", ""))
        if endpoint is not None:
            await self.gateway.operations.serve(endpoint, scope, send)
            return
        observer = self.observer
        if observer.log is None and observer.metrics is None and observer.tracing is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        tracing = observer.tracing
        if tracing is None:
            try:
                await self.app(scope, receive, observed_send)
            finally:
                observer.request_finished(scope, RequestState.from_scope(scope), status, started)
            return
        with tracing.request(scope) as request:
            try:
                await self.app(scope, receive, observed_send)
            finally:
                request.finish(status)
                observer.request_finished(scope, RequestState.from_scope(scope), status, started)
