"""Connections to upstream MCP servers: one supervised `Upstream` per configured server."""

from .base import Upstream, UpstreamState, UpstreamStatus
from .client import ClientUpstream
from .factory import build_upstream
from .inprocess import InProcessServer, InProcessUpstream, ToolError

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
