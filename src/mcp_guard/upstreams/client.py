"""A supervised connection to an upstream MCP server over stdio, streamable HTTP or SSE.

One supervisor task (`run`) owns the `mcp.Client`: it connects with a timeout, discovers every page of
tools, refreshes them on `tools/list_changed`, checks health on an interval and reconnects. Holding the
client in its own task matters: when an HTTP upstream dies the SDK raises out of `async with Client(...)`
and cancels whatever task entered it. Callers in other tasks only ever see `UpstreamError` /
`UpstreamTimeout`, within milliseconds of the connection dropping.

Recovering quickly (the windows measured are in `docs/deployment.md`):

- The connection ends the moment it is known to be over, not at the next health check: a stdio child
  that exited (`stdio.py` watches the process, not its pipes), an HTTP upstream that no longer knows our
  session (it restarted), a connection the SDK reports closed.
- A connection that had been up for `STABLE_UPTIME` is reopened at once; failing attempts back off
  1 s → 30 s, and a call that arrives meanwhile brings the next attempt forward (at most one attempt per
  `ON_DEMAND_SPACING`) and waits for it, so calls are served again as soon as the upstream is back.
- A call the upstream provably never saw (refused for a lost session, or a connection that could not be
  opened) is sent again, once, on the new connection. Any other failure is reported, never replayed.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, TypeVar

import anyio
import mcp_types as types
from mcp import Client, MCPError
from mcp.client.session import IncomingMessage
from mcp.shared.subscriptions import ResourcesListChanged, ToolsListChanged
from mcp.shared.subscriptions import ResourceUpdated as UpdatedEvent
from mcp_types import CONNECTION_CLOSED

from ..config import ServerConfig
from ..errors import GatewayError, UpstreamError, UpstreamTimeout
from ..relay import InFlight
from ..tasks import TaskStatus, TaskStatusObserver
from .base import (
    ElicitationComplete,
    ListChanged,
    LogMessage,
    ResourceUpdated,
    ToolsChanged,
    UpstreamState,
    UpstreamStatus,
)
from .direct_http import Undelivered
from .direct_stdio import StdioPipe
from .failures import describe, failure, is_closed
from .link import Link
from .transports import TransportEvents, open_transport

logger = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STABLE_UPTIME = 1.0  # a connection that lasted this long is reopened at once when it drops
ON_DEMAND_SPACING = 0.5  # a waiting call brings an attempt forward at most this often
HEALTH_FAILURES_BEFORE_RECONNECT = 3
_MAX_PAGES = 1000  # a paginator that never ends must not hang discovery
WATCH_RETRY = 1.0  # seconds before a 2026-07-28 resource watch whose stream ended is opened again


class _ConnectionLost(Exception):
    """Raised inside the supervisor to leave the connected phase and reconnect."""


class ClientUpstream:
    """An upstream reached through the `mcp` SDK client: stdio, http, sse, or an MCP server object running
    in this process (`server`: an `mcp.server.Server` or `MCPServer`, spoken to without sockets)."""

    def __init__(self, config: ServerConfig, server: Any = None) -> None:
        self.config = config
        self.server = server
        self.status = UpstreamStatus(name=config.name, transport=config.transport)
        self.on_list_changed: ListChanged | None = None
        self.on_resource_updated: ResourceUpdated | None = None
        self.in_flight = InFlight()  # which call a handshake-era upstream's elicitation belongs to (relay.py)
        self.on_log_message: LogMessage | None = None
        self.on_elicitation_complete: ElicitationComplete | None = None
        self.on_task_status: TaskStatus | None = None
        self._watched: set[str] = set()  # resource URIs someone downstream is subscribed to
        self._watchers: dict[str, anyio.CancelScope] = {}  # 2026-07-28: one listen stream per watched URI
        self._tasks: anyio.abc.TaskGroup | None = None  # the connection's task group, while connected
        self._link: Link | None = None  # set while connected
        self._lost = anyio.Event()
        self._refresh = anyio.Event()
        self._first_attempt = anyio.Event()
        self._wake = anyio.Event()
        self._asked = False  # a call is waiting: skip the backoff
        self._attempt_end = anyio.Event()  # set when the running (or next) attempt succeeds or fails
        self._last_attempt = -math.inf  # when the last attempt ended (monotonic)

    # -- supervisor -------------------------------------------------------------------------------

    async def run(self, on_tools: ToolsChanged) -> None:
        backoff = BACKOFF_FIRST
        while True:
            self.status.record(UpstreamState.CONNECTING)
            message = "connection lost"
            try:
                await self._connected_phase(on_tools)
            except Exception as exc:  # noqa: BLE001 - any failure of one connection means: reconnect
                message = _describe(exc)
            finally:
                self._drop_link()
            since, self.status.connected_since = self.status.connected_since, None
            if since is None:
                self._attempt_ended()  # never connected: this attempt failed
            if since is not None and time.time() - since >= STABLE_UPTIME:
                delay, backoff = 0.0, BACKOFF_FIRST  # an established connection dropped: reopen it now
            else:
                delay, backoff = backoff, min(backoff * 2, BACKOFF_MAX)
            when = "at once" if delay == 0 else f"in {delay:g} s, sooner if a call needs it"
            logger.warning("upstream %s: %s; reconnecting %s", self.config.name, message, when)
            self.status.record(UpstreamState.DISCONNECTED, message)
            self._first_attempt.set()
            await self._sleep_or_wake(delay)
            self.status.reconnects += 1

    async def _connected_phase(self, on_tools: ToolsChanged) -> None:
        self._lost = anyio.Event()
        # One deadline covers connecting and the first discovery; it is lifted once connected.
        # (`fail_after` around `__aenter__` alone would leave the client's task groups open across it.)
        with anyio.CancelScope(deadline=anyio.current_time() + self.config.connect_timeout) as deadline:
            async with AsyncExitStack() as stack:
                pipe = StdioPipe() if self.config.transport == "stdio" else None
                events = TransportEvents(self._child_exited, self._session_lost, pipe)
                observers = [TaskStatusObserver(lambda: self.on_task_status)]
                client = await open_transport(
                    stack, self.config, self._on_message, events, self.server, self.in_flight, observers
                )
                await self._discover(client, on_tools)
                deadline.deadline = math.inf
                self._link = Link.open(self.config, client, pipe, self._log_message)
                self.status.protocol_version = client.protocol_version
                self.status.connected_since = time.time()
                self.status.record(UpstreamState.CONNECTED)
                logger.info("upstream %s connected (%s)", self.config.name, client.protocol_version)
                self._first_attempt.set()
                self._attempt_ended()
                await self._watch(client, on_tools)
        if deadline.cancelled_caught:
            raise TimeoutError(f"no answer within {self.config.connect_timeout:g} s")

    async def _watch(self, client: Client, on_tools: ToolsChanged) -> None:
        """Serve until the connection is lost or a reconnect is asked for."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._health_loop, client)
            tg.start_soon(self._refresh_loop, client, on_tools)
            if _supports_listen(client):
                tg.start_soon(self._listen_loop, client)
            self._tasks = tg
            for uri in sorted(self._watched):  # a new connection (or session) knows nothing of the old one's
                tg.start_soon(self._watch_on, client, uri)
            try:
                await self._lost.wait()
            finally:
                self._tasks = None
            tg.cancel_scope.cancel()
        raise _ConnectionLost(self.status.last_error or "connection lost")

    async def _discover(self, client: Client, on_tools: ToolsChanged) -> None:
        tools: list[types.Tool] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            page = await client.list_tools(cursor=cursor, cache_mode="refresh")
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        self.status.tool_count = len(tools)
        on_tools(self.config.name, tools)

    async def _health_loop(self, client: Client) -> None:
        failures = 0
        while True:
            await anyio.sleep(self.config.health_interval)
            try:
                with anyio.fail_after(min(self.config.health_interval, 10.0)):
                    await _probe(client)
            except Exception as exc:  # noqa: BLE001 - a failed probe is data, not a crash
                failures += 1
                if failures >= HEALTH_FAILURES_BEFORE_RECONNECT or is_closed(exc):
                    self._lose(f"health check failed: {_describe(exc)}")
                else:
                    self.status.record(UpstreamState.DEGRADED, f"health check failed: {_describe(exc)}")
            else:
                failures = 0
                self.status.record(UpstreamState.CONNECTED)

    async def _refresh_loop(self, client: Client, on_tools: ToolsChanged) -> None:
        while True:
            await self._refresh.wait()
            self._refresh = anyio.Event()
            try:
                with anyio.fail_after(self.config.connect_timeout):
                    await self._discover(client, on_tools)
            except Exception as exc:  # noqa: BLE001
                self.status.record(UpstreamState.DEGRADED, f"tool refresh failed: {_describe(exc)}")

    async def _listen_loop(self, client: Client) -> None:
        """2026-07-28 servers announce list changes only on a `subscriptions/listen` stream."""
        try:
            announced = _announced(client)
            listening = client.listen(
                tools_list_changed=announced["tools"],
                resources_list_changed=announced["resources"],
                prompts_list_changed=announced["prompts"],
            )
            async with listening as subscription:
                async for event in subscription:
                    if isinstance(event, ToolsListChanged):
                        self._refresh.set()
                    else:
                        self._announce("resources" if isinstance(event, ResourcesListChanged) else "prompts")
        except Exception as exc:  # noqa: BLE001 - losing the stream costs freshness, not the connection
            logger.info("upstream %s: change stream ended: %s", self.config.name, _describe(exc))

    async def _on_message(self, message: IncomingMessage) -> None:
        """Handshake-era servers send `notifications/*/list_changed` spontaneously."""
        if isinstance(message, types.ToolListChangedNotification):
            self._refresh.set()
        elif isinstance(message, types.ResourceListChangedNotification):
            self._announce("resources")
        elif isinstance(message, types.PromptListChangedNotification):
            self._announce("prompts")
        elif isinstance(message, types.ResourceUpdatedNotification):
            self._resource_updated(message.params.uri)
        elif isinstance(message, types.LoggingMessageNotification):
            self._log_message(message.params)
        elif isinstance(message, types.ElicitCompleteNotification) and self.on_elicitation_complete is not None:
            self.on_elicitation_complete(message.params.elicitation_id)
        await anyio.lowlevel.checkpoint()

    def _log_message(self, params: types.LoggingMessageNotificationParams) -> None:
        if self.on_log_message is not None:
            self.on_log_message(params)

    def _announce(self, kind: str) -> None:
        if self.on_list_changed is not None:
            self.on_list_changed(kind)

    def _resource_updated(self, uri: str) -> None:
        if self.on_resource_updated is not None and uri in self._watched:
            self.on_resource_updated(uri)

    async def watch(self, uri: str, on: bool) -> None:
        if on == (uri in self._watched):
            return
        (self._watched.add if on else self._watched.discard)(uri)
        link = self._link
        if link is None or self._tasks is None:
            return  # the next connection watches what is watched then
        if on:
            self._tasks.start_soon(self._watch_on, link.client, uri)
        elif uri in self._watchers:
            self._watchers.pop(uri).cancel()
        elif not link.client.protocol_version.startswith("2026"):
            await self.request(f"resources/unsubscribe {uri!r}", lambda client: _send_subscription(client, uri, False))

    async def _watch_on(self, client: Client, uri: str) -> None:
        """Hear of `uri`'s updates on this connection: a `resources/subscribe` (handshake era; the updates
        arrive in `_on_message`), or a listen stream of its own (2026-07-28), opened again whenever it ends
        (a stateless upstream that restarted drops it without the connection ending)."""
        if not client.protocol_version.startswith("2026"):
            try:
                await _send_subscription(client, uri, True)
            except Exception as exc:  # noqa: BLE001 - a watch that fails costs its updates, not the connection
                logger.info("upstream %s: subscribing to %r failed: %s", self.config.name, uri, _describe(exc))
            return
        with anyio.CancelScope() as scope:
            self._watchers[uri] = scope
            while True:
                try:
                    async with client.listen(resource_subscriptions=[uri]) as subscription:
                        async for event in subscription:
                            if isinstance(event, UpdatedEvent):
                                self._resource_updated(event.uri)
                except Exception as exc:  # noqa: BLE001 - retried below
                    logger.info("upstream %s: watching %r: %s", self.config.name, uri, _describe(exc))
                await anyio.sleep(WATCH_RETRY)

    def _drop_link(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.close()

    def _lose(self, reason: str) -> None:
        """End the current connection now (the supervisor reconnects); the state says so at once."""
        if self._link is not None:
            self.status.record(UpstreamState.DISCONNECTED, reason)
        self.status.last_error = reason
        self._lost.set()

    def _child_exited(self, code: int) -> None:
        self._lose(f"the server process exited with code {code}")

    def _session_lost(self, reason: str) -> None:
        if self._link is not None:
            self._link.session_lost = True
        self._lose(reason)

    def _attempt_ended(self) -> None:
        self._last_attempt = time.monotonic()
        ended, self._attempt_end = self._attempt_end, anyio.Event()
        ended.set()

    async def _sleep_or_wake(self, seconds: float) -> None:
        self._wake = anyio.Event()
        if self._asked:
            self._asked = False
            return
        with anyio.move_on_after(seconds):
            await self._wake.wait()
        self._asked = False

    # -- used by the gateway ----------------------------------------------------------------------

    def reconnect(self) -> None:
        self._lose("reconnect requested")
        self._ask()

    async def wait_first_attempt(self) -> None:
        await self._first_attempt.wait()

    async def call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        with self.in_flight.call():
            return await self._call(tool, arguments)

    async def _call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        link = await self._connection()
        try:
            return await self._call_on(link, tool, arguments)
        except Undelivered as exc:  # the connection could not even be opened: the upstream went away
            self._lose(f"connection failed during a call: {exc.message}")
        except MCPError as exc:
            if not link.session_lost:
                raise self._call_error(tool, exc) from None
        # The upstream never saw this call (see `_Link.session_lost`, `Undelivered`): send it again, once.
        link = await self._connection()
        try:
            return await self._call_on(link, tool, arguments)
        except MCPError as exc:
            raise self._call_error(tool, exc) from None

    async def _call_on(self, link: Link, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        try:
            return await link.call_tool(tool, arguments, self.config.call_timeout)
        except MCPError:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. structured content that violates the output schema
            raise UpstreamError(f"Tool '{self.config.name}/{tool}' failed upstream: {_describe(exc)}") from None

    async def _connection(self) -> Link:
        """The live connection; when there is none, the outcome of the next attempt, brought forward.

        Waits at most for one attempt (bounded by `connect_timeout`, and by `call_timeout`); fails at once
        when the last attempt ended less than `ON_DEMAND_SPACING` ago (it keeps failing: no storm)."""
        link = self._link
        if link is not None and not self._lost.is_set():
            return link
        with anyio.move_on_after(min(self.config.connect_timeout + 1.0, self.config.call_timeout)):
            while (link := self._link) is None or self._lost.is_set():
                ended = self._attempt_end
                if self.status.state == UpstreamState.DISCONNECTED:
                    if time.monotonic() - self._last_attempt < ON_DEMAND_SPACING:
                        break
                    self._ask()
                await ended.wait()
                if self._link is None and self.status.state == UpstreamState.DISCONNECTED:
                    break  # the attempt this call waited for failed
            else:
                return link
        raise UpstreamError(
            f"Upstream '{self.config.name}' is {self.status.state}: {self.status.last_error or 'not connected'}"
        )

    def _ask(self) -> None:
        """Have the supervisor attempt a connection now instead of finishing its backoff."""
        self._asked = True
        self._wake.set()

    def offers(self, feature: str) -> bool:
        """Whether the connected server declares `feature` (`resources`, `prompts`, `completions`)."""
        link = self._link
        return link is not None and getattr(link.client.server_capabilities, feature, None) is not None

    async def request(self, what: str, send: Callable[[Client], Awaitable[T]]) -> T:
        """One request other than a tool call (a listing, a read, a prompt, a completion) on the live
        connection; `what` names it in errors (`resources/read 'file:///x'`)."""
        link = await self._connection()
        timeout = self.config.call_timeout
        try:
            with self.in_flight.call(), anyio.fail_after(timeout):
                return await send(link.client)
        except TimeoutError:
            raise UpstreamTimeout(f"{what} on '{self.config.name}' did not answer within {timeout:g} s") from None
        except MCPError as exc:
            raise self._failure(f"{what} on '{self.config.name}'", what, exc) from None
        except GatewayError:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. a result that does not validate
            raise UpstreamError(f"Upstream '{self.config.name}' failed {what}: {_describe(exc)}") from None

    def _call_error(self, tool: str, exc: MCPError) -> Exception:
        ref = f"{self.config.name}/{tool}"
        return self._failure(f"Tool '{ref}'", f"the call to '{ref}'", exc)

    def _failure(self, subject: str, action: str, exc: MCPError) -> Exception:
        """The gateway's error for an upstream's JSON-RPC error answering `action`."""
        if exc.code == CONNECTION_CLOSED:
            self._lose(f"connection closed during {action}")
        return failure(self.config.name, self.config.call_timeout, subject, action, exc)


async def _probe(client: Client) -> None:
    """A cheap round trip: `ping` where the era has it, else one page of tools."""
    if client.protocol_version.startswith("2026"):
        await client.list_tools(cache_mode="refresh")
    else:  # the session's own ping: `Client.send_ping` warns that modern servers have none, on every check
        await client.session.send_ping()


async def _send_subscription(client: Client, uri: str, on: bool) -> None:
    """`resources/subscribe` or `unsubscribe` (the SDK's own methods warn that 2026-07-28 removed them)."""
    request: types.SubscribeRequest | types.UnsubscribeRequest
    if on:
        request = types.SubscribeRequest(params=types.SubscribeRequestParams(uri=uri))
    else:
        request = types.UnsubscribeRequest(params=types.UnsubscribeRequestParams(uri=uri))
    await client.session.send_request(request, types.EmptyResult)


def _supports_listen(client: Client) -> bool:
    return client.protocol_version.startswith("2026") and any(_announced(client).values())


def _announced(client: Client) -> dict[str, bool]:
    """The lists whose changes the server says it announces (tools, resources, prompts)."""
    capabilities = client.server_capabilities
    return {
        kind: bool(feature and feature.list_changed)
        for kind, feature in (
            ("tools", capabilities.tools),
            ("resources", capabilities.resources),
            ("prompts", capabilities.prompts),
        )
    }


def _describe(exc: BaseException) -> str:
    return describe(exc, bare=(_ConnectionLost,))
