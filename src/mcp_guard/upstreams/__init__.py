"""Connections to upstream MCP servers: one supervised `Upstream` per configured server."""

from .base import Upstream, UpstreamState, UpstreamStatus
from .client import ClientUpstream
from .inprocess import InProcessServer, InProcessUpstream, ToolError
from .factory import build_upstream

__all__ = [
    "ClientUpstream",
    "InProcessServer",
    "InProcessUpstream",
    "ToolError",
    "Upstream",
    "UpstreamState",
    "UpstreamStatus",
    "build_upstream",
]
