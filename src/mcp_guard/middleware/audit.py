"""AuditMiddleware: attaches the audit log; the pipeline writes one record per tool call through it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..asgi import Scope
from ..state import AuditSink, RequestState

if TYPE_CHECKING:
    from ..gateway import Gateway


class AuditMiddleware:
    def __init__(self, app: Any, *, gateway: Gateway | None = None, log: AuditSink | None = None) -> None:
        if log is None and gateway is None:
            raise TypeError("AuditMiddleware needs gateway= or log=")
        self.app = app
        self.log = log or gateway.governance.audit  # type: ignore[union-attr]

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            RequestState.from_scope(scope).audit = self.log
        await self.app(scope, receive, send)
