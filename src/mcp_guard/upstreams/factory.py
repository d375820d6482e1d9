"""Choosing the upstream implementation for a configured server."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import mcp_types as types

from ..config import ServerConfig
from ..errors import ConfigError, UpstreamError
from .base import ToolsChanged, ToolsOnly, Upstream, UpstreamState, UpstreamStatus
from .client import ClientUpstream
from .inprocess import InProcessServer, InProcessUpstream

if TYPE_CHECKING:
    from ..credentials.service import CredentialService


def build_upstream(
    config: ServerConfig, inprocess: Mapping[str, Any], credentials: CredentialService | None = None
) -> Upstream:
    """`inprocess` holds servers registered in code; YAML names them by `target: module:attribute`.
    A server marked `credentials:` is called as each user, with their credential from `credentials`.

    An in-process server is either an `InProcessServer` (plain functions, called directly) or an MCP
    server object (`mcp.server.Server` / `MCPServer`), reached through the SDK's in-memory client."""
    if not config.enabled:
        return DisabledUpstream(config)
    if config.transport != "inprocess":
        if config.credentials is not None and credentials is not None:
            from ..credentials.sessions import PerPrincipalUpstream

            return PerPrincipalUpstream(ClientUpstream(config), credentials)
        return ClientUpstream(config)
    server = inprocess.get(config.name) or load_inprocess_target(config)
    if isinstance(server, InProcessServer):
        return InProcessUpstream(config, server)
    return ClientUpstream(config, server)


def load_inprocess_target(config: ServerConfig) -> Any:
    target = config.target or ""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"servers.{config.name}.target: expected 'module:attribute', got {target!r}")
    try:
        value = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"servers.{config.name}.target: cannot load {target!r}: {exc}") from None
    if isinstance(value, InProcessServer) or _is_mcp_server(value):
        return value
    if isinstance(value, (list, tuple)) and all(callable(fn) for fn in value):
        server = InProcessServer(config.name)
        for fn in value:
            server.add(fn)
        return server
    raise ConfigError(
        f"servers.{config.name}.target: {target!r} is a {type(value).__name__}, "
        "expected an InProcessServer, an MCP server object or a list of functions"
    )


def _is_mcp_server(value: Any) -> bool:
    from mcp.server import MCPServer, Server

    return isinstance(value, Server | MCPServer)


class DisabledUpstream(ToolsOnly):
    """A server switched off in config: listed with state `disabled`, never connected."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.status = UpstreamStatus(name=config.name, transport=config.transport, state=UpstreamState.DISABLED)

    async def run(self, on_tools: ToolsChanged) -> None:
        """Nothing to supervise."""

    async def call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        raise UpstreamError(f"Upstream '{self.config.name}' is disabled in the configuration")

    def reconnect(self) -> None:
        """A disabled server stays disconnected."""

    async def wait_first_attempt(self) -> None:
        """There is no attempt to wait for."""
