"""`UpstreamManager`: the supervisors of a gateway's upstreams, and changes to the set while it runs.

The servers wanted are the configuration file's, plus the runtime servers of the shared store (a file
server of the same name wins), each with its enable/disable override. `reconcile()` brings the running
upstreams to that set, whoever changed it (the admin API in this process or another, a reloaded file):

- a new server gets a supervisor at once (listed as `connecting`); its tools enter the catalog when it
  has listed them;
- a changed server gets a new upstream beside the old one; calls move to the new one in the same step as
  its tools (the first discovery, or its first failed attempt), so the catalog never lists a tool that
  the upstream serving it does not have;
- a removed or replaced upstream is retired only once its calls in flight have ended (bounded by its
  `call_timeout`), so no call is cut off; sessions never notice.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import anyio
import mcp_types as types
from anyio.abc import TaskGroup, TaskStatus
from pydantic import ValidationError

from ..config import ServerConfig
from ..errors import ConfigError
from ..upstreams import Upstream, build_upstream
from .store import ServerRecord, ServerStore

if TYPE_CHECKING:
    from ..core import GatewayCore

logger = logging.getLogger(__name__)
DRAIN_POLL = 0.05
T = TypeVar("T")


class UpstreamNews(Protocol):
    """Where the upstream manager sends what an upstream announces (the router: it tells the MCP clients)."""

    def on_list_changed(self, server: str, kind: str) -> None: ...

    def on_resource_updated(self, server: str, uri: str) -> None: ...

    def on_log_message(self, server: str, params: types.LoggingMessageNotificationParams) -> None: ...

    def on_elicitation_complete(self, server: str, elicitation_id: str) -> None: ...

    def on_task_status(self, server: str, params: types.TaskStatusNotificationParams) -> None: ...


class UpstreamManager:
    def __init__(self, gateway: GatewayCore, registered: Mapping[str, Any], news: UpstreamNews) -> None:
        self.gateway = gateway
        self.registered = registered  # in-process servers registered in code, by name
        self.news = news  # what the upstreams announce goes there (the MCP endpoint's clients)
        self.store: ServerStore | None = None  # runtime servers, while running
        self._group: TaskGroup | None = None
        self._scopes: dict[Upstream, anyio.CancelScope] = {}
        self._incoming: dict[str, Upstream] = {}  # replacements not yet swapped in
        self._reconciling = anyio.Lock()
        self._opening = anyio.Lock()
        self._stale = anyio.Event()  # the store changed: reconcile
        self._shadowed: set[str] = set()  # runtime servers hidden by a file server (warned once)

    @property
    def upstreams(self) -> dict[str, Upstream]:
        return self.gateway.upstreams

    @asynccontextmanager
    async def running(self, store: Callable[[], ServerStore] | None) -> AsyncIterator[None]:
        """Supervise every upstream (and follow the runtime servers of `store()`) while inside."""
        async with anyio.create_task_group() as group:
            self._group = group
            for upstream in list(self.upstreams.values()):
                self._start(upstream)
            try:
                if store is not None:
                    await self.follow(store)
                yield
            finally:
                self._group, self.store = None, None
                group.cancel_scope.cancel()

    async def follow(self, store: Callable[[], ServerStore]) -> ServerStore:
        """Open the runtime servers' store (once) and apply and follow it; returns it."""
        async with self._opening:
            if self.store is None:
                if self._group is None:
                    raise RuntimeError("the gateway is not running")
                await self._group.start(self._keep, store())
        assert self.store is not None
        return self.store

    async def _keep(self, store: ServerStore, *, task_status: TaskStatus[None]) -> None:
        store.on_change = lambda: self._stale.set()
        async with store.running():
            self.store = store
            await self.reconcile()
            task_status.started()
            await self._follow_store()

    # -- what is wanted

    def wanted(self) -> dict[str, ServerConfig]:
        """The file's servers, the store's runtime servers, and the enable/disable overrides."""
        servers = {server.name: server for server in self.gateway.config.servers}
        records = self.store.records() if self.store is not None else {}
        for name, record in records.items():
            if record.config is not None and name not in servers:
                runtime = self._runtime_config(record)
                if runtime is not None:
                    servers[name] = runtime
            elif record.config is not None and name not in self._shadowed:
                self._shadowed.add(name)
                logger.warning("runtime server %r is shadowed by the configuration file's server of that name", name)
        for name, record in records.items():
            if record.enabled is not None and name in servers and servers[name].enabled != record.enabled:
                servers[name] = servers[name].model_copy(update={"enabled": record.enabled})
        return servers

    @staticmethod
    def _runtime_config(record: ServerRecord) -> ServerConfig | None:
        try:
            return ServerConfig.model_validate({**(record.config or {}), "name": record.name})
        except ValidationError as exc:  # stored by a newer or older version: skip it, say so
            logger.error("runtime server %r in the store is not valid here and is ignored: %s", record.name, exc)
            return None

    def source(self, name: str) -> str:
        """`config` (the file or code) or `runtime` (the admin API)."""
        return "config" if any(s.name == name for s in self.gateway.config.servers) else "runtime"

    # -- bringing the running upstreams to it

    async def reconcile(self) -> None:
        """Start, replace and retire upstreams until they match `wanted()`; the catalog follows."""
        async with self._reconciling:
            wanted = self.wanted()
            gateway = self.gateway
            gateway.catalog.configure(wanted.values(), gateway.config.blocked_tools)
            gateway.pipeline.code_only = frozenset(name for name, s in wanted.items() if s.code_mode)
            gateway.confirmations.configure(wanted.values())
            for name in [name for name in self.upstreams if name not in wanted]:
                self._remove(name)
            for name, config in wanted.items():
                current = self._incoming.get(name) or self.upstreams.get(name)
                if current is None or current.config != config:
                    upstream = self._build(config)
                    if upstream is not None:
                        (self._add if current is None else self._replace)(upstream)

    def _build(self, config: ServerConfig) -> Upstream | None:
        try:
            return build_upstream(config, self.registered, self.gateway.credentials)
        except ConfigError as exc:  # e.g. an in-process target this process cannot import
            logger.error("upstream %s cannot be started here: %s", config.name, exc)
            return None

    def _add(self, upstream: Upstream) -> None:
        logger.info("upstream %s added (%s)", upstream.config.name, upstream.config.transport)
        self.upstreams[upstream.config.name] = upstream
        self._start(upstream)

    def _replace(self, upstream: Upstream) -> None:
        name = upstream.config.name
        logger.info("upstream %s changed: connecting the new configuration beside the old", name)
        if not upstream.config.enabled:
            self._swap(name, upstream)
            self.gateway.catalog.remove_server(name)
            return
        self._incoming[name] = upstream
        self._start(upstream)
        if self._group is not None:
            self._group.start_soon(self._swap_after_first_attempt, upstream)

    def _remove(self, name: str) -> None:
        logger.info("upstream %s removed", name)
        old = self.upstreams.pop(name)
        incoming = self._incoming.pop(name, None)
        self.gateway.catalog.remove_server(name)
        for upstream in (old, incoming):
            if upstream is not None:
                self._retire(upstream)

    async def _swap_after_first_attempt(self, upstream: Upstream) -> None:
        """A replacement that never lists tools (it cannot connect) still takes over after its first try."""
        with anyio.move_on_after(upstream.config.connect_timeout + 1.0):
            await upstream.wait_first_attempt()
        name = upstream.config.name
        if self._incoming.get(name) is upstream:
            self._swap(name, upstream)
            self.gateway.catalog.remove_server(name)

    def _swap(self, name: str, upstream: Upstream) -> None:
        self._incoming.pop(name, None)
        old = self.upstreams.get(name)
        self.upstreams[name] = upstream
        if old is not None and old is not upstream:
            self._retire(old)

    def _on_tools(self, upstream: Upstream) -> Any:
        def update(server: str, tools: Sequence[types.Tool]) -> None:
            if self.upstreams.get(server) is not upstream:
                if self._incoming.get(server) is not upstream:
                    return  # retired: a late discovery must not bring its tools back
                self._swap(server, upstream)  # calls and tools move to the new upstream in one step
            self.gateway.catalog.update_server(server, tools)

        return update

    def _relayed(self, upstream: Upstream, tell: Callable[[str, T], None]) -> Callable[[T], None]:
        """`tell(server, what)` for what `upstream` announces, while it is its server's current upstream."""

        def relay(what: T) -> None:
            if self.upstreams.get(upstream.config.name) is upstream:  # a retired upstream's news is old
                tell(upstream.config.name, what)

        return relay

    # -- supervisors

    def _start(self, upstream: Upstream) -> None:
        if self._group is not None:
            self._group.start_soon(self._supervise, upstream)

    async def _supervise(self, upstream: Upstream) -> None:
        with anyio.CancelScope() as scope:
            self._scopes[upstream] = scope
            try:
                news = self.news
                upstream.on_list_changed = self._relayed(upstream, news.on_list_changed)
                upstream.on_resource_updated = self._relayed(upstream, news.on_resource_updated)
                upstream.on_log_message = self._relayed(upstream, news.on_log_message)
                upstream.on_elicitation_complete = self._relayed(upstream, news.on_elicitation_complete)
                upstream.on_task_status = self._relayed(upstream, news.on_task_status)
                await upstream.run(self._on_tools(upstream))
            finally:
                self._scopes.pop(upstream, None)

    def _retire(self, upstream: Upstream) -> None:
        if self._group is not None:
            self._group.start_soon(self._drain_then_stop, upstream)

    async def _drain_then_stop(self, upstream: Upstream) -> None:
        in_flight = self.gateway.pipeline.in_flight
        with anyio.move_on_after(upstream.config.call_timeout + 1.0):
            while in_flight.get(upstream):
                await anyio.sleep(DRAIN_POLL)
        scope = self._scopes.get(upstream)
        if scope is not None:
            scope.cancel()

    async def _follow_store(self) -> None:
        while True:
            await self._stale.wait()
            self._stale = anyio.Event()
            try:
                await self.reconcile()
            except Exception:  # a bad record must not stop following the store
                logger.exception("applying the runtime servers failed")
