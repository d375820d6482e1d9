"""`PerPrincipalUpstream`: a server whose calls carry each caller's own credential.

The server's shared upstream (its configured `headers`: the service credential) discovers the catalog,
answers listings and health checks, exactly as for any server; the catalog does not depend on who asks.
A call is sent on a session of the caller's own: an upstream opened with `Authorization: Bearer <the
caller's upstream token>` in place of the service credential. Sessions are pooled per user (bounded by
`max_sessions`, the least recently used idle one closed first) and closed after `idle_seconds` unused,
or as soon as the user's credential changes. The inbound token never reaches the upstream: the only
`Authorization` a session sends is the one the `CredentialSource` gave.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

import anyio
import mcp_types as types
from anyio.abc import TaskGroup

from ..config import ServerConfig
from ..errors import NotAllowed, ServiceUnavailable, UpstreamError
from ..tasks import TaskStatus
from ..upstreams.base import (
    ElicitationComplete,
    ListChanged,
    LogMessage,
    ResourceUpdated,
    ToolsChanged,
    Upstream,
    UpstreamState,
)
from ..upstreams.client import ClientUpstream

if TYPE_CHECKING:
    from mcp import Client

    from ..state import RequestState
    from .service import CredentialService

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(slots=True)
class _Session:
    upstream: ClientUpstream
    token: str
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    last_used: float = field(default_factory=time.monotonic)
    in_flight: int = 0


class PerPrincipalUpstream:
    """Delegates everything to the shared upstream except `session`, which gives the caller's own."""

    def __init__(self, shared: Upstream, source: CredentialService) -> None:
        assert shared.config.credentials is not None
        self.shared = shared
        self.config: ServerConfig = shared.config
        self.status = shared.status  # the same object: the shared upstream updates it in place
        self.on_list_changed: ListChanged | None = None  # set by the supervisor, handed to the shared upstream
        self.on_resource_updated: ResourceUpdated | None = None
        # the shared connection's log messages only: a user's own session's are that user's, never relayed
        self.on_log_message: LogMessage | None = None
        self.on_elicitation_complete: ElicitationComplete | None = None  # likewise the shared connection's
        self.on_task_status: TaskStatus | None = None  # likewise (a user's own session's tasks: not relayed)
        self.source = source
        self.settings = shared.config.credentials
        self._sessions: dict[str, _Session] = {}
        self._opening: dict[str, anyio.Lock] = {}
        self._group: TaskGroup | None = None

    # -- the shared upstream's face: discovery, status, listings

    def offers(self, feature: str) -> bool:
        return self.shared.offers(feature)

    async def request(self, what: str, send: Callable[[Client], Awaitable[T]]) -> T:
        return await self.shared.request(what, send)

    async def watch(self, uri: str, on: bool) -> None:
        await self.shared.watch(uri, on)

    def reconnect(self) -> None:
        self.shared.reconnect()
        for session in list(self._sessions.values()):
            session.upstream.reconnect()

    async def wait_first_attempt(self) -> None:
        await self.shared.wait_first_attempt()

    async def call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        raise NotAllowed(f"Server '{self.config.name}' acts as each user: a call needs the caller")

    async def run(self, on_tools: ToolsChanged) -> None:
        self.shared.on_list_changed, self.shared.on_resource_updated = self.on_list_changed, self.on_resource_updated
        self.shared.on_log_message = self.on_log_message
        self.shared.on_elicitation_complete = self.on_elicitation_complete
        self.shared.on_task_status = self.on_task_status
        async with anyio.create_task_group() as group:
            self._group = group
            group.start_soon(self._reap_idle)
            try:
                await self.shared.run(on_tools)
            finally:
                self._group = None
                for user in list(self._sessions):
                    self._close(user)
                group.cancel_scope.cancel()

    # -- per principal

    async def session(self, state: RequestState) -> Upstream:
        """The caller's own session (opened on first use); `CredentialRequired` when they have none."""
        principal = state.principal
        if principal is None:
            raise NotAllowed(f"Server '{self.config.name}' acts as each user: it needs an authenticated caller")
        user = principal.key_name
        token = await self.source.token(self.config, user, state)
        lock = self._opening.setdefault(user, anyio.Lock())
        async with lock:
            session = self._sessions.get(user)
            if session is not None and session.token != token:  # re-linked: the old credential goes
                self._close(user)
                session = None
            if session is None:
                session = await self._open(user, token)
        session.last_used = time.monotonic()
        return cast(Upstream, _Tracked(session))  # an Upstream by delegation (`__getattr__`)

    async def _open(self, user: str, token: str) -> _Session:
        if self._group is None:
            raise ServiceUnavailable(f"Server '{self.config.name}' is not running")
        self._make_room()
        headers = {k: v for k, v in self.config.headers.items() if k.lower() != "authorization"}
        config = self.config.model_copy(update={"headers": {**headers, "Authorization": f"Bearer {token}"}})
        session = _Session(ClientUpstream(config), token)
        self._sessions[user] = session
        self._group.start_soon(self._supervise, session)
        await session.upstream.wait_first_attempt()
        if session.upstream.status.state is not UpstreamState.CONNECTED:
            error = session.upstream.status.last_error or "no connection"
            self._close(user)
            raise UpstreamError(f"Upstream '{self.config.name}' refused the session of '{user}': {error}")
        logger.info("upstream %s: session opened for %s", self.config.name, user)
        return session

    async def _supervise(self, session: _Session) -> None:
        with session.scope:
            await session.upstream.run(lambda server, tools: None)  # the catalog is the shared upstream's

    def forget(self, user: str) -> None:
        """Close `user`'s session (their credential was removed or replaced)."""
        self._close(user)

    def _close(self, user: str) -> None:
        lock = self._opening.get(user)
        if lock is not None and not lock.locked():  # one lock per user with a session or an opening under way
            del self._opening[user]
        session = self._sessions.pop(user, None)
        if session is not None:
            session.scope.cancel()
            logger.info("upstream %s: session of %s closed", self.config.name, user)

    def _make_room(self) -> None:
        if len(self._sessions) < self.settings.max_sessions:
            return
        idle = [(s.last_used, user) for user, s in self._sessions.items() if s.in_flight == 0]
        if not idle:
            raise ServiceUnavailable(
                f"Server '{self.config.name}': all {self.settings.max_sessions} per-user sessions are busy"
            )
        self._close(min(idle)[1])

    async def _reap_idle(self) -> None:
        idle_seconds = self.settings.idle_seconds
        while True:
            await anyio.sleep(min(idle_seconds / 4, 30.0))
            now = time.monotonic()
            for user, session in list(self._sessions.items()):
                if session.in_flight == 0 and now - session.last_used >= idle_seconds:
                    self._close(user)

    def open_sessions(self) -> list[str]:
        return sorted(self._sessions)


class _Tracked:
    """A session as one call uses it: counted in flight, so the reaper leaves it open meanwhile."""

    def __init__(self, session: _Session) -> None:
        self._session = session
        self.upstream = session.upstream

    def __getattr__(self, name: str) -> Any:
        return getattr(self.upstream, name)

    async def call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        return await self._counted(self.upstream.call(tool, arguments))

    async def request(self, what: str, send: Callable[[Client], Awaitable[T]]) -> T:
        return await self._counted(self.upstream.request(what, send))

    async def _counted(self, work: Awaitable[T]) -> T:
        session = self._session
        session.in_flight += 1
        try:
            return await work
        finally:
            session.in_flight -= 1
            session.last_used = time.monotonic()
