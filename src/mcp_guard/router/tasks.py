"""Tasks (MCP 2025-11-25, experimental) on the MCP endpoint, for upstreams that offer them.

- `tools/call` with `params.task` (`TaskCalls`, a server middleware: the SDK's `tools/call` result surface
  has no `CreateTaskResult` arm) goes through the pipeline as a call and, when the owning upstream offers
  task-augmented calls, creates the task there (`mcp_guard.tasks`). The client gets a task id of the gateway's
  own: `<server>.<random>`, remembered with the key that created it and the upstream's id.
- `tasks/get`, `tasks/result`, `tasks/cancel` go to the owning upstream under its id; the answer names the
  gateway's id. `tasks/list` lists the caller's own tasks only. A task id another key created is answered as
  an unknown one (-32602, nothing said of its existence) and the refusal is audited; so is a task whose tool
  the caller may no longer see. `tasks/result` and `tasks/cancel` are audited (`task:<id>`).
- Rate limit and budget apply once, at creation: the call is admitted and priced like any call of its tool
  and settled when the upstream accepted the task (refunded when it did not). Polls are not priced: they
  would otherwise count as calls of the tool.
- The `tasks` capability is advertised to handshake-era clients while some upstream offers it.

The registry lives in the process, bounded (per key and in all) and expiring with each task's `ttl`.
"""

from __future__ import annotations

import heapq
import secrets
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions
from mcp_types import INVALID_PARAMS
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from ..asgi import header
from ..chat.confirmations import CONFIRM_HEADER
from ..errors import GatewayError, NotFound
from ..names import ToolRef
from ..pipeline import as_caller
from ..results import error_result
from ..state import RequestState
from ..tasks import RELATED_TASK, TASK_STATUS, TaskRequest, augmenting, task_request
from ..tool_call import ToolCall
from .aggregate import Context, rpc_error, state_of
from .inbox import Inbox, notify
from .list_changed import NotifyingServer

if TYPE_CHECKING:
    from mcp import Client

    from ..host import GatewayHost

MAX_TASKS = 10_000  # tasks remembered per process; the oldest is forgotten first
MAX_TASKS_PER_KEY = 1_000  # tasks remembered per key; its own oldest is forgotten first
QUEUE = 256  # status changes waiting to be relayed; more are dropped (the client polls anyway)
UNLIMITED_TTL = 86_400.0  # seconds a task is remembered when its upstream keeps it for ever (ttl null)
_CAPABILITY = types.ServerTasksCapability(
    list=types.TasksListCapability(),
    cancel=types.TasksCancelCapability(),
    requests=types.ServerTasksRequestsCapability(tools=types.TasksToolsCapability(call=types.TasksCallCapability())),
)


@dataclass(frozen=True, slots=True)
class OwnedTask:
    owner: str | None  # the key id that created it
    ref: ToolRef
    upstream_id: str
    expires: float  # monotonic
    connection: weakref.ref[Any] | None = None  # the creating handshake-era session's: told of status changes


class TaskRegistry:
    """The tasks created through this gateway process: gateway id → owner, tool and the upstream's id.

    Bounded per key (`MAX_TASKS_PER_KEY`: one key that creates many tasks forgets its own oldest, never
    another key's) and in all (`MAX_TASKS`); each task is forgotten when its `ttl` has passed."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tasks: dict[str, OwnedTask] = {}  # in creation order
        self._by_owner: dict[str | None, dict[str, None]] = {}  # each key's task ids, in creation order
        self._expiry: list[tuple[float, str]] = []  # a heap; entries of forgotten tasks are skipped
        self._by_upstream: dict[tuple[str, str], str] = {}  # (server, the upstream's id) → the gateway's id

    def add(self, owner: str | None, ref: ToolRef, task: types.Task, connection: Any = None) -> str:
        self._expire()
        mine = self._by_owner.setdefault(owner, {})
        if len(mine) >= MAX_TASKS_PER_KEY:
            self._forget(next(iter(mine)))
        if len(self._tasks) >= MAX_TASKS:
            self._forget(next(iter(self._tasks)))
        task_id = f"{ref.server}.{secrets.token_urlsafe(16)}"
        ttl = task.ttl / 1000 if task.ttl is not None else UNLIMITED_TTL
        told = weakref.ref(connection) if connection is not None else None
        owned = OwnedTask(owner, ref, task.task_id, self._clock() + ttl, told)
        self._tasks[task_id] = owned
        self._by_owner.setdefault(owner, {})[task_id] = None
        self._by_upstream[(ref.server, task.task_id)] = task_id
        heapq.heappush(self._expiry, (owned.expires, task_id))
        return task_id

    def owned(self, task_id: str, owner: str | None) -> OwnedTask | None:
        """The task, if `owner` created it and it has not expired."""
        self._expire()
        task = self._tasks.get(task_id)
        return task if task is not None and task.owner == owner else None

    def named(self, server: str, upstream_id: str) -> tuple[str, OwnedTask] | None:
        """The gateway's id and the task `server` calls `upstream_id`."""
        self._expire()
        task_id = self._by_upstream.get((server, upstream_id))
        return (task_id, self._tasks[task_id]) if task_id is not None else None

    def of(self, owner: str | None) -> dict[str, OwnedTask]:
        self._expire()
        return {task_id: self._tasks[task_id] for task_id in self._by_owner.get(owner, ())}

    def _expire(self) -> None:
        now, expiry = self._clock(), self._expiry
        while expiry and expiry[0][0] <= now:
            _, task_id = heapq.heappop(expiry)
            self._forget(task_id)

    def _forget(self, task_id: str) -> None:
        task = self._tasks.pop(task_id, None)
        if task is None:
            return
        self._by_upstream.pop((task.ref.server, task.upstream_id), None)
        mine = self._by_owner[task.owner]
        del mine[task_id]
        if not mine:
            del self._by_owner[task.owner]


class TaskServer(NotifyingServer):
    """The endpoint's low-level server, declaring `tasks` to handshake-era clients while an upstream does."""

    tasks_offered: Callable[[], bool] = staticmethod(lambda: False)

    def get_capabilities(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
        *,
        protocol_version: str | None = None,
    ) -> types.ServerCapabilities:
        capabilities = super().get_capabilities(
            notification_options, experimental_capabilities, extensions, protocol_version=protocol_version
        )
        if protocol_version not in MODERN_PROTOCOL_VERSIONS and self.tasks_offered():
            capabilities = capabilities.model_copy(update={"tasks": _CAPABILITY})
        return capabilities


class Tasks:
    """The endpoint's task support: the `tools/call` middleware and the `tasks/*` handlers."""

    def __init__(self, gateway: GatewayHost, registry: TaskRegistry | None = None) -> None:
        self.gateway = gateway
        self.registry = registry or TaskRegistry()
        self._inbox = Inbox[types.TaskStatusNotificationParams](QUEUE, self._tell)

    def post(self, server: str, params: types.TaskStatusNotificationParams) -> None:
        """Upstream `server` says a task's status changed (called synchronously, from its connection's reader):
        queued for the client that created the task, or dropped when the queue is full."""
        self._inbox.post(server, params)

    async def run(self) -> None:
        """Relay the queued status changes while the gateway runs."""
        await self._inbox.run()

    async def _tell(self, server: str, params: types.TaskStatusNotificationParams) -> None:
        named = self.registry.named(server, params.task_id)
        connection = named[1].connection() if named is not None and named[1].connection is not None else None
        if named is None or connection is None:  # not created through this gateway, or its session has gone
            return
        wire = params.model_copy(update={"task_id": named[0]}).model_dump(by_alias=True, exclude_none=True, mode="json")
        await notify(connection, TASK_STATUS, wire)

    def offered(self) -> bool:
        return any(upstream.offers("tasks") for upstream in self.gateway.upstreams.values())

    def install(self, server: TaskServer) -> None:
        server.tasks_offered = self.offered
        server.add_request_handler("tasks/get", types.GetTaskRequestParams, self._get)
        server.add_request_handler("tasks/result", types.GetTaskPayloadRequestParams, self._result)
        server.add_request_handler("tasks/cancel", types.CancelTaskRequestParams, self._cancel)
        server.add_request_handler("tasks/list", types.PaginatedRequestParams, self._list)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """A server middleware: takes task-augmented `tools/call`s of handshake-era clients."""
        params = ctx.params
        if ctx.method != "tools/call" or not params or params.get("task") is None:
            return await call_next(ctx)
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS or not self.offered():
            return await call_next(ctx)  # not offered: the call is answered in full, its `task` ignored
        try:  # this middleware answers before the SDK validates the params: it must
            call = types.CallToolRequestParams.model_validate(params, by_name=False)
        except ValidationError as exc:
            raise MCPError(INVALID_PARAMS, f"Invalid tools/call params: {_first_error(exc)}") from None
        confirmation = header(ctx.request.scope, CONFIRM_HEADER) if ctx.request is not None else None
        connection = getattr(ctx.session, "_connection", None)  # lives as long as the session (as logging_relay)
        return await self._create(state_of(ctx), call, confirmation, connection)

    async def _create(
        self, state: RequestState, params: types.CallToolRequestParams, confirmation: str | None, connection: Any
    ) -> dict[str, Any]:
        task = params.task.model_dump(by_alias=True, exclude_none=True, mode="json") if params.task else {}
        request, name = TaskRequest(task), params.name
        try:
            with augmenting(request):
                result = await self.gateway.call(
                    state, name, params.arguments, entry_point="mcp", confirmation=confirmation
                )
        except GatewayError as exc:
            result = error_result(exc)
        entry = self.gateway.catalog.resolve(name)
        if request.created is None or entry is None:  # the upstream answered in full (or refused): as it is
            return result.model_dump(by_alias=True, exclude_none=True, mode="json")
        created = request.created.task
        task_id = self.registry.add(_key(state), entry.ref, created, connection)
        shown = created.model_copy(update={"task_id": task_id})
        return {"task": shown.model_dump(by_alias=True, exclude_none=True, mode="json")}

    async def _get(self, ctx: Context, params: types.GetTaskRequestParams) -> dict[str, Any]:
        return await self._forward(ctx, "tasks/get", params.task_id, audited=False)

    async def _result(self, ctx: Context, params: types.GetTaskPayloadRequestParams) -> dict[str, Any]:
        return await self._forward(ctx, "tasks/result", params.task_id, audited=True)

    async def _cancel(self, ctx: Context, params: types.CancelTaskRequestParams) -> dict[str, Any]:
        return await self._forward(ctx, "tasks/cancel", params.task_id, audited=True)

    async def _forward(self, ctx: Context, method: str, task_id: str, *, audited: bool) -> dict[str, Any]:
        state = state_of(ctx)
        call = ToolCall(f"task:{task_id}", {"taskId": task_id}, state, method=method)
        try:
            task = self._visible(state, task_id)
            call.item = task.ref
            upstream = await as_caller(self.gateway.upstreams[task.ref.server], state)  # a user's own session
            wire = await upstream.request(
                f"{method} for task {task_id!r}",
                lambda client: task_request(client, method, {"taskId": task.upstream_id}),
            )
        except GatewayError as exc:
            await self.gateway.pipeline.record_call(call, exc)
            raise rpc_error(exc) from None
        if audited:
            await self.gateway.pipeline.record_call(call)
        return _renamed(wire, task.upstream_id, task_id)

    def _visible(self, state: RequestState, task_id: str) -> OwnedTask:
        task = self.registry.owned(task_id, _key(state))
        if task is None:  # unknown, expired or another key's: the same answer
            raise NotFound(f"Unknown task {task_id!r}", extra={"task": task_id})
        if self.gateway.catalog.blocks(task.ref):
            raise NotFound(f"Unknown task {task_id!r}", extra={"task": task_id})
        state.check_visible(task.ref)  # the key may have lost the tool since
        return task

    async def _list(self, ctx: Context, params: types.PaginatedRequestParams) -> dict[str, Any]:
        """The caller's tasks, each as its upstream lists it now; one page (the gateway never issues a cursor)."""
        if params.cursor is not None:
            raise MCPError(INVALID_PARAMS, f"Invalid cursor {params.cursor!r}")
        state = state_of(ctx)
        mine = self.registry.of(_key(state))
        listed: list[dict[str, Any]] = []
        for server in sorted({task.ref.server for task in mine.values()}):
            ours = {task.upstream_id: task_id for task_id, task in mine.items() if task.ref.server == server}
            for task in await self._upstream_tasks(server):
                task_id = ours.get(str(task.get("taskId")))
                if task_id is not None and state.may_see(mine[task_id].ref):
                    listed.append({**task, "taskId": task_id})
        return {"tasks": listed}

    async def _upstream_tasks(self, server: str) -> list[dict[str, Any]]:
        upstream = self.gateway.upstreams.get(server)
        if upstream is None:
            return []
        tasks: list[dict[str, Any]] = []
        cursor: str | None = None
        for _page in range(100):  # an upstream whose cursor never ends must not hang the listing
            try:
                page = await upstream.request("tasks/list", _lister({"cursor": cursor} if cursor else None))
            except GatewayError:
                return tasks  # an upstream that is down lists nothing now
            tasks += [t for t in page.get("tasks", ()) if isinstance(t, dict)]
            cursor = page.get("nextCursor")
            if not isinstance(cursor, str):
                break
        return tasks


def _lister(params: dict[str, Any] | None) -> Callable[[Client], Awaitable[dict[str, Any]]]:
    return lambda client: task_request(client, "tasks/list", params)


def _renamed(wire: dict[str, Any], upstream_id: str, task_id: str) -> dict[str, Any]:
    """The upstream's answer naming the gateway's task id (in the task and in `_meta`'s related task)."""
    result = dict(wire)
    if result.get("taskId") == upstream_id:
        result["taskId"] = task_id
    meta = result.get("_meta")
    if isinstance(meta, dict) and isinstance(related := meta.get(RELATED_TASK), dict):
        result["_meta"] = {**meta, RELATED_TASK: {**related, "taskId": task_id}}
    return result


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "params"
    return f"{where}: {error['msg']}"


def _key(state: RequestState) -> str | None:
    return state.principal.key_id if state.principal is not None else None
