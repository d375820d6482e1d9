"""What the five middlewares share: the paths they govern, and one way to refuse a request (recorded in
the audit log, then answered)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..asgi import Scope, close_reason, send_problem
from ..errors import GatewayError
from .paths import DEFAULT_PATHS, PathScope

if TYPE_CHECKING:
    from ..audit.refusals import RefusalLog
    from ..core import GatewayCore

Paths = PathScope | Iterable[str]


def path_scope(paths: Paths, exempt_paths: Iterable[str] = ()) -> PathScope:
    """`paths` (patterns, or a ready `PathScope`) minus `exempt_paths`."""
    if isinstance(paths, PathScope):
        if exempt_paths:
            raise TypeError("pass exempt paths to the PathScope itself (exclude=...)")
        return paths
    return PathScope(paths, exempt_paths)


class GoverningMiddleware:
    """A pure-ASGI middleware that `apply`s its stage to the requests its `paths` govern (the gateway's mount
    by default, see `paths.py`) and passes everything else on untouched. `apply` raises a `GatewayError` to
    refuse; the refusal is recorded (`refusals`, the gateway's by default) and rendered here, once for all
    five."""

    def __init__(
        self,
        app: Any,
        paths: Paths = DEFAULT_PATHS,
        exempt_paths: Iterable[str] = (),
        *,
        gateway: GatewayCore | None = None,
        refusals: RefusalLog | None = None,
    ) -> None:
        self.app = app
        self.paths = path_scope(paths, exempt_paths)
        self.refusals = refusals if refusals is not None or gateway is None else gateway.governance.refusals
        # False inside a `GovernanceStack`, which checks the path once for all five: every request that reaches
        # a stage there is governed.
        self.gated = True

    def governs(self, scope: Scope) -> bool:
        return not self.gated or self.paths.governs(scope)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if self.governs(scope):
            try:
                await self.apply(scope)
            except GatewayError as exc:
                await self.refuse(scope, receive, send, exc)
                return
        await self.app(scope, receive, send)

    async def refuse(self, scope: Scope, receive: Any, send: Any, error: GatewayError) -> None:
        """Record the refusal, then answer it."""
        if self.refusals is not None:
            await self.refusals.refused(scope, error, receive)
        await refuse(scope, send, error)

    async def apply(self, scope: Scope) -> None:
        """Put this stage's decision on the request's `RequestState`, or raise `GatewayError` to refuse."""
        raise NotImplementedError


async def refuse(scope: Scope, send: Any, error: GatewayError) -> None:
    """problem+json for an HTTP request; a websocket handshake is closed with 1008 (policy violation), which
    the server answers with 403 before the connection opens."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": close_reason(error)})
        return
    await send_problem(send, error, scope)
