"""`Gateway`: upstreams + catalog + pipeline, and the ASGI router to mount."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, nullcontext
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types

from .asgi import Scope, run_lifespan
from .catalog import Catalog
from .chat.confirmations import ConfirmationGate
from .chat.sampling import GatewaySampler
from .code_mode import CodeModeService, call_meta_tool, is_meta_tool
from .config import GatewayConfig, ServerConfig, load_config
from .credentials.service import CredentialService
from .errors import ConfigError
from .governance import Governance
from .host import AutoRule
from .listing import ListingCache
from .observability.observer import Observer
from .observability.operations import Operations
from .pipeline import Pipeline
from .reload import reload_gateway, reload_on_sighup
from .router import GatewayRouter
from .servers.manager import UpstreamManager
from .servers.store import ServerStore, open_server_store
from .state import RequestState
from .upstreams import Upstream, build_upstream
from .virtual import check_servers

if TYPE_CHECKING:
    from .chat.service import ChatService
    from .middleware.stack import GovernanceStack
    from .ui.app import Dashboard

_CODE_TARGET = "<registered in code>"


class Gateway:
    """The gateway core. Mount `gateway.router` (under `/mcp`) and run `gateway.lifespan()` in the host
    app's lifespan; or serve `gateway.router` directly, which then runs its own lifespan.

        gateway = Gateway.from_yaml("gateway.yaml", inprocess=[billing_tools])

    `inprocess` takes `InProcessServer`s (plain functions, called directly) and MCP server objects
    (`mcp.server.Server`, `MCPServer`: spoken to over the SDK's in-memory client), each under its `.name`.
    `tracer_provider`: an OpenTelemetry tracer provider for the gateway's spans (default: the global one if
    the app installed it, else one built from the `OTEL_*` variables, else no spans).
    """

    def __init__(
        self, config: GatewayConfig | None = None, *, inprocess: Iterable[Any] = (), tracer_provider: Any = None
    ) -> None:
        config = config or GatewayConfig()
        registered = {server.name: server for server in inprocess}
        self.registered = registered
        config = self.with_code_servers(config)
        self.config = config
        self.config_path: Path | None = None  # the file `reload()` reads again (set by `from_yaml`)
        self.catalog = Catalog(config)
        if config.gc_freeze:  # opted in: a process-wide setting (`GatewayConfig.gc_freeze`)
            self.catalog.on_change(_freeze_heap)
        self.listings = ListingCache()  # what each caller is shown, per catalog version
        CredentialService.check_servers(config.credentials, config.servers)
        self.credentials = CredentialService(config.credentials, config.auth.store)  # per-user upstream tokens
        self.upstreams: dict[str, Upstream] = {
            s.name: build_upstream(s, registered, self.credentials) for s in config.servers
        }
        self.reload_on_sighup = False  # the standalone server sets it: SIGHUP then reloads `config_path`
        self.code_only_servers = frozenset(s.name for s in config.servers if s.code_mode)
        self.confirmations = ConfirmationGate(config)
        self.observer = Observer(config.observability, tracer_provider=tracer_provider)
        self.pipeline = Pipeline(
            self.catalog,
            self.upstreams,
            code_only=self.code_only_servers,
            confirmations=self.confirmations,
            observer=self.observer,
            sampler=GatewaySampler(self),  # upstreams' sampling the gateway answers itself (`servers[].sampling`)
        )
        self.governance = Governance(config)
        self.governance.metrics = self.observer.metrics
        self.code_mode_service = CodeModeService(self)  # its worker pool starts on the first program
        self.router = GatewayRouter(self)  # the MCP endpoint and the REST routes, with their back-channels
        self.operations = Operations(self)  # /healthz, /readyz, /metrics
        self.upstream_manager = UpstreamManager(self, registered, self.router.news)

    @classmethod
    def from_yaml(cls, path: str | Path, *, inprocess: Iterable[Any] = (), tracer_provider: Any = None) -> Gateway:
        gateway = cls(load_config(path), inprocess=inprocess, tracer_provider=tracer_provider)
        gateway.config_path = Path(path)
        return gateway

    @asynccontextmanager
    async def lifespan(self, app: Any = None) -> AsyncIterator[None]:
        """Start every upstream supervisor and the MCP session manager; stop them (and stdio children) after.

        Start-up waits until every upstream has made its first connection attempt (bounded by the
        longest `connect_timeout`), so the first call after start does not race the connections.
        """
        self.observer.start_tracing()  # before the MCP server is built: its span middleware depends on it
        sighup = reload_on_sighup(self) if self.reload_on_sighup else nullcontext()
        store = self.server_store if "keys" in self.governance.__dict__ else None  # see `server_store`
        async with self.upstream_manager.running(store), sighup:
            async with self.governance.running(), self.observer.running(self._live_sources), self.router.running():
                await self._wait_first_attempts()
                try:
                    yield
                finally:
                    chat = self.__dict__.pop("chat", None)  # a later lifespan opens a fresh one
                    if chat is not None:
                        await chat.aclose()
                    await self.confirmations.aclose()
                    self.code_mode_service.close()

    def server_store(self) -> ServerStore:
        """Where runtime servers live (`servers_store`, default the key store `auth.store`). A gateway that
        authenticates keys opens it at start and follows it; otherwise the admin API (which needs an admin
        key) opens it on first use, so a gateway without keys never creates a key database."""
        return open_server_store(self.config.servers_store or self.config.auth.store)

    async def reload(self, path: str | Path | None = None) -> dict[str, Any]:
        """Read the configuration file again and apply it (`reload.py`); `ConfigError` keeps the old one."""
        return await reload_gateway(self, path)

    def with_code_servers(self, config: GatewayConfig) -> GatewayConfig:
        """`config` with a server entry for each in-process server registered in code that it lacks;
        `ConfigError` when a virtual server names a server that is neither."""
        config = _with_code_servers(config, self.registered)
        check_servers(config.virtual_servers, [server.name for server in config.servers])
        return config

    @property
    def running(self) -> bool:
        """Whether the lifespan has started (and not yet ended): the MCP endpoint answers."""
        return self.router.serving

    def _live_sources(self) -> tuple[Iterable[Upstream], Any]:
        """What live metrics read: the upstreams and the audit log, if one was opened."""
        return self.upstreams.values(), self.governance.audit_in_use()

    @cached_property
    def request_governance(self) -> GovernanceStack:
        """The five middleware stages, to apply inline to a request no middleware governed (an app route
        that opted in: `mcp_guard.routes`)."""
        from .middleware.paths import EVERY_PATH
        from .middleware.stack import GovernanceStack

        return GovernanceStack(None, self, paths=EVERY_PATH)

    @cached_property
    def dashboard(self) -> Dashboard:
        """The admin dashboard (`mcp_guard.ui`), served by the router under `/ui`; built on first use."""
        from .ui.app import Dashboard

        return Dashboard(self)

    @cached_property
    def chat(self) -> ChatService:
        """The chat endpoint's providers and token limiter, created on first use."""
        from .chat.service import ChatService

        return ChatService(self.config)

    async def _wait_first_attempts(self) -> None:
        longest = max((u.config.connect_timeout for u in self.upstreams.values()), default=0.0)
        with anyio.move_on_after(longest + 1.0):
            async with anyio.create_task_group() as tg:
                for upstream in self.upstreams.values():
                    tg.start_soon(upstream.wait_first_attempt)

    async def call(
        self,
        state: RequestState,
        name: str,
        arguments: Any,
        *,
        entry_point: str,
        mode: str = "manual",
        parent_id: str | None = None,
        confirmation: str | None = None,
        auto_only: AutoRule | None = None,
    ) -> types.CallToolResult:
        """Call a tool or a Code Mode meta-tool by the name the caller was shown; `GatewayError` when refused.

        `confirmation` is the caller's `x-mcp-confirm` id; `auto_only` (agent mode) restricts what an
        `executeToolCode` program may call."""
        if is_meta_tool(name):
            with self.observer.meta_tool_span(name, state, entry_point):
                return await call_meta_tool(
                    self, state, name, arguments, entry_point=entry_point, auto_only=auto_only, parent_id=parent_id
                )
        outcome = await self.pipeline.call(
            state, name, arguments, entry_point=entry_point, mode=mode, parent_id=parent_id, confirmation=confirmation
        )
        return outcome.result

    async def serve_lifespan(self, scope: Scope, receive: Any, send: Any) -> None:
        await run_lifespan(self.lifespan(), scope, receive, send)


def _with_code_servers(config: GatewayConfig, registered: dict[str, Any]) -> GatewayConfig:
    """Give in-process servers registered in code a config entry unless the YAML already has one."""
    known = {s.name for s in config.servers}
    for name, _server in registered.items():
        if name in known and config.server(name).transport != "inprocess":
            raise ConfigError(
                f"servers.{name}: configured as {config.server(name).transport!r}, "
                "but an in-process server of that name was registered in code"
            )
    extra = [
        ServerConfig(name=name, transport="inprocess", target=_CODE_TARGET) for name in registered if name not in known
    ]
    return config.model_copy(update={"servers": [*config.servers, *extra]}) if extra else config


def _freeze_heap(server: str | None) -> None:  # noqa: ARG001 - a catalog listener's signature
    """After a catalog change: what is alive now (the catalog above all) leaves the collector's view, so a
    full collection no longer scans every tool (`bench/catalog_scale.py`)."""
    gc.freeze()
