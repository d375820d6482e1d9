"""AuditMiddleware: attaches the audit log; the pipeline writes one record per tool call through it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..asgi import Scope
from ..state import AuditSink, RequestState
from .base import GoverningMiddleware, Paths
from .paths import DEFAULT_PATHS

if TYPE_CHECKING:
    from ..core import GatewayCore


class AuditMiddleware(GoverningMiddleware):
    def __init__(
        self,
        app: Any,
        *,
        gateway: GatewayCore | None = None,
        log: AuditSink | None = None,
        paths: Paths = DEFAULT_PATHS,
    ) -> None:
        super().__init__(app, paths)
        if log is None and gateway is None:
            raise TypeError("AuditMiddleware needs gateway= or log=")
        self.log = log or gateway.governance.audit  # type: ignore[union-attr]

    async def apply(self, scope: Scope) -> None:
        RequestState.from_scope(scope).audit = self.log
