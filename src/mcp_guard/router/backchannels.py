"""What the gateway tells MCP clients besides answers: list-changed and resource-updated notices
(`list_changed.py`), upstreams' elicitation and sampling requests (`client_requests.py`), their log
messages (`logging_relay.py`) and the status changes of tasks (`tasks.py`). The MCP endpoint (`McpEndpoint`)
owns one `Backchannels` and runs it while the gateway runs; the upstream manager sends it what upstreams
announce (`UpstreamNews`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import mcp_types as types

from .client_requests import Relays
from .list_changed import ListChangedNotifier
from .logging_relay import LogRelay
from .tasks import Tasks

if TYPE_CHECKING:
    from ..host import GatewayHost


class Backchannels:
    def __init__(self, gateway: GatewayHost) -> None:
        self.list_changed = ListChangedNotifier()  # MCP clients are told when the catalog changes
        self.relays = Relays(gateway)  # upstreams' elicitation and sampling reach the client that caused them
        self.logs = LogRelay()  # upstreams' log messages, relayed to the sessions that asked for them
        self.tasks = Tasks(gateway)  # tasks created through the gateway; their status told to their creator
        gateway.catalog.on_change(lambda server: self.list_changed.changed("tools", server))

    async def run(self) -> None:
        """Relay until cancelled (the MCP endpoint's `running()` cancels it when the gateway stops)."""
        try:
            async with anyio.create_task_group() as channels:
                channels.start_soon(self.list_changed.run)
                channels.start_soon(self.relays.run)
                channels.start_soon(self.logs.run)
                channels.start_soon(self.tasks.run)
        finally:
            self.list_changed.close()

    # -- `UpstreamNews`: what an upstream announces

    def on_list_changed(self, server: str, kind: str) -> None:
        self.list_changed.changed(kind, server)

    def on_resource_updated(self, server: str, uri: str) -> None:
        self.list_changed.updated(server, uri)

    def on_log_message(self, server: str, params: types.LoggingMessageNotificationParams) -> None:
        self.logs.post(server, params)

    def on_elicitation_complete(self, server: str, elicitation_id: str) -> None:
        self.relays.completed(server, elicitation_id)

    def on_task_status(self, server: str, params: types.TaskStatusNotificationParams) -> None:
        self.tasks.post(server, params)
