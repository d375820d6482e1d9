"""What every upstream offers the gateway, whatever its transport."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import mcp_types as types

from ..config import ServerConfig
from ..errors import NotFound
from ..tasks import TaskStatus

if TYPE_CHECKING:
    from mcp import Client

T = TypeVar("T")

ToolsChanged = Callable[[str, Sequence[types.Tool]], None]
"""Called with the server name and its complete, fresh tool list whenever discovery finishes."""

ListChanged = Callable[[str], None]
"""Called with `resources` or `prompts` when the upstream announces that list changed."""

ResourceUpdated = Callable[[str], None]
"""Called with the URI of a watched resource the upstream says was updated."""

LogMessage = Callable[[types.LoggingMessageNotificationParams], None]
"""Called with each log message (`notifications/message`) the upstream sends."""

ElicitationComplete = Callable[[str], None]
"""Called with the id of a URL elicitation the upstream says was completed (`notifications/elicitation/complete`)."""


class UpstreamState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DEGRADED = "degraded"  # connected, but the last health check failed
    DISCONNECTED = "disconnected"  # waiting to reconnect
    DISABLED = "disabled"  # `enabled: false` in config


@dataclass(slots=True)
class UpstreamStatus:
    """What `GET /servers` shows for one upstream."""

    name: str
    transport: str
    state: UpstreamState = UpstreamState.CONNECTING
    last_error: str | None = None
    last_check: float | None = None
    connected_since: float | None = None
    protocol_version: str | None = None
    tool_count: int = 0
    reconnects: int = 0

    def record(self, state: UpstreamState, error: str | None = None) -> None:
        self.state = state
        self.last_check = time.time()
        if error is not None:
            self.last_error = error

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "transport": self.transport,
            "state": str(self.state),
            "last_error": self.last_error,
            "last_check": self.last_check,
            "connected_since": self.connected_since,
            "protocol_version": self.protocol_version,
            "tool_count": self.tool_count,
            "reconnects": self.reconnects,
        }


class Upstream(Protocol):
    """One upstream server, held by its own supervisor task (`run`)."""

    config: ServerConfig
    status: UpstreamStatus
    on_list_changed: ListChanged | None  # set by whoever supervises it, to relay the announcements
    on_resource_updated: ResourceUpdated | None
    on_log_message: LogMessage | None
    on_elicitation_complete: ElicitationComplete | None
    on_task_status: TaskStatus | None

    async def run(self, on_tools: ToolsChanged) -> None:
        """Connect, discover, watch and reconnect until cancelled."""

    async def call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        """Call one tool; raises `UpstreamError` / `UpstreamTimeout` when the upstream fails."""

    def offers(self, feature: str) -> bool:
        """Whether the server, as connected now, declares `feature` (`resources`, `prompts`, `completions`)."""

    async def request(self, what: str, send: Callable[[Client], Awaitable[T]]) -> T:
        """Send one request other than a tool call through the live client; the same errors as `call`."""

    async def watch(self, uri: str, on: bool) -> None:
        """Start (or stop) hearing of updates of resource `uri` (`on_resource_updated`), across reconnects."""

    def reconnect(self) -> None:
        """Drop the current connection (if any) and connect again now."""

    async def wait_first_attempt(self) -> None:
        """Return once the first connection attempt has succeeded or failed."""


class ToolsOnly:
    """What an upstream that offers nothing but tools (in-process functions, a disabled server) answers
    for resources, prompts and completions."""

    config: ServerConfig
    on_list_changed: ListChanged | None = None  # nothing to announce
    on_resource_updated: ResourceUpdated | None = None
    on_log_message: LogMessage | None = None
    on_elicitation_complete: ElicitationComplete | None = None
    on_task_status: TaskStatus | None = None

    def offers(self, feature: str) -> bool:
        return False

    async def request(self, what: str, send: Callable[[Client], Awaitable[T]]) -> T:
        raise NotFound(f"Server '{self.config.name}' offers only tools, so not {what}")

    async def watch(self, uri: str, on: bool) -> None:
        raise NotFound(f"Server '{self.config.name}' offers only tools, no resource {uri!r}")
