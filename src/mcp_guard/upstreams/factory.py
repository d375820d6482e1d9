"""Choosing the upstream implementation for a configured server."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import mcp_types as types

from ..config import ServerConfig
from ..errors import ConfigError, UpstreamError
from .base import ToolsChanged, Upstream, UpstreamState, UpstreamStatus
from .client import ClientUpstream
from .inprocess import InProcessServer, InProcessUpstream


def build_upstream(config: ServerConfig, inprocess: Mapping[str, InProcessServer]) -> Upstream:
    """`inprocess` holds servers registered in code; YAML names them by `target: module:attribute`."""
    if not config.enabled:
        return DisabledUpstream(config)
    if config.transport != "inprocess":
        return ClientUpstream(config)
    server = inprocess.get(config.name) or load_inprocess_target(config)
    return InProcessUpstream(config, server)


def load_inprocess_target(config: ServerConfig) -> InProcessServer:
    target = config.target or ""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"servers.{config.name}.target: expected 'module:attribute', got {target!r}")
    try:
        value = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"servers.{config.name}.target: cannot load {target!r}: {exc}") from None
    if isinstance(value, InProcessServer):
        return value
    if isinstance(value, (list, tuple)) and all(callable(fn) for fn in value):
        server = InProcessServer(config.name)
        for fn in value:
            server.add(fn)
        return server
    raise ConfigError(
        f"servers.{config.name}.target: {target!r} is a {type(value).__name__}, "
        "expected an InProcessServer or a list of functions"
    )


class DisabledUpstream:
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
