"""One connection to an upstream as the calls in flight on it see it, and the path a tool call takes on it.

A tool call goes through the SDK client (`Client.call_tool`: the reference), or through a direct path where
one speaks for the connection exactly: `direct_http.py` for 2026-07-28 HTTP upstreams, `direct_stdio.py`
for stdio upstreams of either era. A call that may relay progress or the upstream's questions (elicitation,
sampling, roots) to its caller takes the direct path only on a 2026-07-28 HTTP upstream, where both travel in
the call's own exchange (progress on its event stream, questions as `input_required` results): there the
SDK client's own input-required loop runs over the direct path's rounds (`_relayed`); so does a call that
asks for log messages (they travel on its event stream too). Elsewhere (stdio, where a handshake-era
upstream's requests arrive on the session's receive loop) such a call stays on the SDK client.
Everything else on the connection (discovery, health checks, listings, change streams) stays on the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, cast

import mcp_types as types
from mcp import Client, MCPError
from mcp_types import LOG_LEVEL_META_KEY, CallToolResult, InputRequiredResult, InputResponses

from ..config import ServerConfig
from ..log_level import wanted_log_level
from ..progress import ProgressSink, current_sink
from ..relay import can_ask
from ..tasks import create_task, current_task_request, offers_tasks, task_created
from .base import LogMessage
from .direct_http import DirectHttpCaller, Undelivered
from .direct_stdio import DirectStdioCaller, StdioPipe


class DirectCaller(Protocol):
    """`tools/call` without the SDK client's per-request machinery; raises `MCPError` like the client."""

    async def call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class Link:
    """One connection, as its calls see it."""

    client: Client
    direct: DirectCaller | None  # the lean path for tool calls, where it applies
    relaying: DirectHttpCaller | None = None  # the lean path that also carries progress and questions
    session_lost: bool = False  # the upstream refused our session id: nothing sent since reached a tool

    @classmethod
    def open(
        cls, config: ServerConfig, client: Client, pipe: StdioPipe | None = None, on_log: LogMessage | None = None
    ) -> Link:
        """The connection's paths; `on_log`: where the log messages a call asked for go (the SDK client's
        message handler hands its own on there too)."""
        # http saves ~1 ms of CPU per call: one plain POST instead of the SDK transport and httpx2;
        # stdio 30-43 % of the gateway's CPU per call: one line on the pipe instead of the session's task hops
        if config.sampling != "relay":  # the gateway may answer its sampling: the SDK client's input loop does
            return cls(client, None)
        http = DirectHttpCaller.open(config, client, on_log)
        direct: DirectCaller | None = http or DirectStdioCaller.open(config, client, pipe)
        return cls(client, direct, http)

    async def call_tool(self, tool: str, arguments: dict[str, Any], timeout: float) -> types.CallToolResult:
        """The call on the direct path when it can carry it, else on the SDK client (task-augmented: `tasks.py`)."""
        task = current_task_request()
        if task is not None and offers_tasks(self.client.server_capabilities):
            await create_task(self.client, tool, arguments, task)
            return task_created(task)
        sink = current_sink()  # the caller asked for progress
        level = wanted_log_level()  # or for log messages (`log_level.py`)
        if self.direct is not None and sink is None and level is None and not can_ask():  # nothing to relay
            return await self.direct.call(tool, arguments)
        if self.relaying is not None:
            return await self._relayed(self.relaying, tool, arguments, sink, level)
        meta = cast("types.RequestParamsMeta", {LOG_LEVEL_META_KEY: level}) if level is not None else None
        return await self.client.call_tool(
            tool, arguments, read_timeout_seconds=timeout, progress_callback=sink, meta=meta
        )

    async def _relayed(
        self,
        direct: DirectHttpCaller,
        tool: str,
        arguments: dict[str, Any],
        sink: ProgressSink | None,
        level: types.LoggingLevel | None,
    ) -> types.CallToolResult:
        """The call on the direct path, its questions answered by the SDK client's own input-required loop
        (the client's callbacks, `relay.upstream_callbacks`, find the caller as on the SDK path)."""

        async def again(responses: InputResponses | None, state: str | None) -> CallToolResult | InputRequiredResult:
            try:
                return await direct.call_relaying(tool, arguments, sink, responses, state, level)
            except Undelivered as exc:  # the upstream saw the first round: never resent from the start
                raise MCPError(code=exc.code, message=exc.message) from None

        first = await direct.call_relaying(tool, arguments, sink, log_level=level)
        if isinstance(first, CallToolResult):
            return first
        return await self.client._drive_input_required(first, again)

    def close(self) -> None:
        if self.direct is not None:
            self.direct.close()
