"""Task-augmented tool calls (MCP 2025-11-25 tasks), carried between the MCP endpoint and the upstream.

A client that sends `tools/call` with `params.task` asks the server to answer at once with a task (a
`CreateTaskResult`) and run the tool in the background; the client then polls `tasks/get`, fetches
`tasks/result` and may `tasks/cancel`. The call still goes through the one pipeline (resolve, visibility,
confirmation, rate limit, budget, audit) like any call: the endpoint opens a `TaskRequest` for the duration
of the pipeline call (`augmenting`) and the upstream connection reads it (`current_task_request`) and sends
the task-augmented request instead of the plain one, storing the upstream's task in it. The pipeline sees
the task's creation as the call's result (a short text naming the task), so the call is audited, limited and
priced at creation. Upstreams that do not offer tasks ignore the request and answer the call in full, which
is what the revision asks of a receiver without task support.

The wire functions (`create_task`, `task_request`) work on the SDK client; see `docs/mcp-features.md` for
why the first needs the SDK's dispatcher.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.client.extension import ClientExtension, NotificationBinding
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from mcp import Client

RELATED_TASK = "io.modelcontextprotocol/related-task"  # the `_meta` key naming a result's task
TASK_STATUS = "notifications/tasks/status"
TaskStatus = Callable[[types.TaskStatusNotificationParams], None]
"""Called with each `notifications/tasks/status` an upstream sends (its own task ids)."""


class _Wire(BaseModel):
    """Any result, kept as the upstream sent it."""

    model_config = ConfigDict(extra="allow")


@dataclass(slots=True)
class TaskRequest:
    """What the client asked for (`task`, its `params.task`) and, once the upstream created it, the task."""

    task: dict[str, Any]
    created: types.CreateTaskResult | None = None


_REQUEST: ContextVar[TaskRequest | None] = ContextVar("mcp_guard_task_request", default=None)


@contextmanager
def augmenting(request: TaskRequest) -> Iterator[TaskRequest]:
    """Make the upstream tool call inside the block task-augmented; `request.created` holds the task after."""
    token = _REQUEST.set(request)
    try:
        yield request
    finally:
        _REQUEST.reset(token)


def current_task_request() -> TaskRequest | None:
    return _REQUEST.get()


def offers_tasks(capabilities: types.ServerCapabilities | None) -> bool:
    """Whether a server declares task-augmented `tools/call` (`capabilities.tasks.requests.tools.call`)."""
    tasks = capabilities.tasks if capabilities is not None else None
    requests = tasks.requests if tasks is not None else None
    return requests is not None and requests.tools is not None and requests.tools.call is not None


async def create_task(client: Client, tool: str, arguments: dict[str, Any], request: TaskRequest) -> None:
    """Send the task-augmented `tools/call` and keep the upstream's `CreateTaskResult` in `request`.

    `ClientSession.send_request` validates every `tools/call` result as a `CallToolResult` (the SDK's
    2025-11-25 surface has no `CreateTaskResult` arm), so the request goes through the session's dispatcher,
    stamped as `send_request` would stamp it; the result is validated here instead."""
    session = client.session
    data: dict[str, Any] = {"name": tool, "arguments": arguments, "task": request.task}
    options: Any = {}
    session._stamp({"method": "tools/call", "params": data}, options)  # noqa: SLF001 - see the docstring
    raw = await session._dispatcher.send_raw_request("tools/call", data, options)  # noqa: SLF001
    request.created = types.CreateTaskResult.model_validate(raw, by_name=False)


async def task_request(client: Client, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """`tasks/get`, `tasks/result`, `tasks/cancel` or `tasks/list` on the upstream; its wire result as is
    (`tasks/result` carries the original request's result, whose shape is the tool's)."""
    request = types.Request[dict[str, Any] | None, str](method=method, params=params)
    result = await client.session.send_request(request, _Wire)
    return dict(result.model_extra or {})


def task_created(request: TaskRequest) -> types.CallToolResult:
    """What the pipeline records as the result of a call that created a task (the client gets the task)."""
    created = request.created
    text = f"task {created.task.task_id} created" if created is not None else "task created"
    return types.CallToolResult(content=[types.TextContent(text=text)])


class TaskStatusObserver(ClientExtension):
    """Hands the upstream's `notifications/tasks/status` to `on_status`.

    The SDK client drops a notification its negotiated revision does not list (2025-11-25 lists no
    `tasks/status`) unless a client extension binds it; an extension is also advertised in the client's
    capabilities, hence an identifier of the gateway's own, which no server acts on."""

    identifier = "dev.mcp-guard/task-status"

    def __init__(self, on_status: Callable[[], TaskStatus | None]) -> None:
        self._on_status = on_status

    def notifications(self) -> Sequence[NotificationBinding[types.TaskStatusNotificationParams]]:
        async def observe(params: types.TaskStatusNotificationParams) -> None:
            if (on_status := self._on_status()) is not None:
                on_status(params)

        return (
            NotificationBinding(method=TASK_STATUS, params_type=types.TaskStatusNotificationParams, handler=observe),
        )
