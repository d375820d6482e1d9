"""Tasks (MCP 2025-11-25) through the gateway, against npm server-everything (which offers task-augmented
`tools/call` and `tasks/get|result|list|cancel`): the same flow directly and through the gateway with the
SDK client, task ids bound to the key that created them, the creation governed and audited as a call.

The SDK client has no call for a task-augmented `tools/call` (its result surface has no `CreateTaskResult`
arm), so the tests send that one request through the client session's dispatcher; every `tasks/*` request
goes through `ClientSession.send_request`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, MCPError
from mcp.client.extension import ClientExtension, NotificationBinding
from mcp_types import INVALID_PARAMS

from tests.support.servers import everything_stdio_params, notes_server

from .test_client_requests import governed
from .test_resources_list_changed import keyed
from .upstream_fixtures import stdio_config, url_config

pytestmark = [pytest.mark.anyio, pytest.mark.node]
TOOL = "simulate-research-query"
SHOWN = f"everything__{TOOL}"


async def create(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    params = {"name": name, "arguments": arguments, "task": {"ttl": 60_000}}
    return await client.session._dispatcher.send_raw_request("tools/call", params, {})


async def get(client: Client, task_id: str) -> types.GetTaskResult:
    request = types.GetTaskRequest(params=types.GetTaskRequestParams(task_id=task_id))
    return await client.session.send_request(request, types.GetTaskResult)


async def result(client: Client, task_id: str) -> types.CallToolResult:
    request = types.GetTaskPayloadRequest(params=types.GetTaskPayloadRequestParams(task_id=task_id))
    return await client.session.send_request(request, types.CallToolResult)


async def cancel(client: Client, task_id: str) -> types.CancelTaskResult:
    request = types.CancelTaskRequest(params=types.CancelTaskRequestParams(task_id=task_id))
    return await client.session.send_request(request, types.CancelTaskResult)


async def listed(client: Client) -> list[str]:
    page = await client.session.send_request(types.ListTasksRequest(), types.ListTasksResult)
    return [task.task_id for task in page.tasks]


def text_of(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def research(client: Client, name: str) -> tuple[str, types.CallToolResult]:
    """Create a research task, poll it to the end, fetch its result."""
    created = await create(client, name, {"topic": "tides"})
    task_id = created["task"]["taskId"]
    assert created["task"]["status"] == "working"
    with anyio.fail_after(30):
        while (await get(client, task_id)).status == "working":
            await anyio.sleep(0.5)
    assert (await get(client, task_id)).status == "completed"
    return task_id, await result(client, task_id)


class StatusSeen(ClientExtension):
    """A client's ear for `notifications/tasks/status` (the SDK client drops it unless an extension binds it)."""

    identifier = "dev.tests/task-status"

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def notifications(self) -> list[NotificationBinding[types.TaskStatusNotificationParams]]:
        async def seen(params: types.TaskStatusNotificationParams) -> None:
            self.seen.append((params.task_id, params.status))

        return [
            NotificationBinding(
                method="notifications/tasks/status", params_type=types.TaskStatusNotificationParams, handler=seen
            )
        ]


@asynccontextmanager
async def everything_behind(**settings: Any) -> AsyncIterator[tuple[str, str, str, Any]]:
    async with governed(stdio_config("everything", everything_stdio_params()), **settings) as g:
        yield g


async def test_a_task_runs_through_the_gateway_as_it_runs_directly():
    async with Client(everything_stdio_params(), mode="legacy") as direct:
        assert direct.server_capabilities.tasks is not None
        _, expected = await research(direct, TOOL)
    async with everything_behind() as (base, alice, _, gateway):
        async with keyed(base, alice, "legacy") as client:
            offered = client.server_capabilities.tasks
            assert offered is not None and offered.requests and offered.requests.tools
            (tool,) = [t for t in (await client.list_tools()).tools if t.name == SHOWN]
            assert tool.execution is not None and tool.execution.task_support == "required"
            task_id, got = await research(client, SHOWN)
            assert task_id.startswith("everything.")
            assert text_of(got) == text_of(expected) and "Research Report: tides" in text_of(got)
            assert got.meta == {"io.modelcontextprotocol/related-task": {"taskId": task_id}}
            assert task_id in await listed(client)
        records = await gateway.governance.audit.query()
        (created,) = [r for r in records if r["tool"] == TOOL]
        assert created["server"] == "everything" and created["outcome"] == "ok"
        assert [r["outcome"] for r in records if r["tool"] == f"task:{task_id}"] == ["ok"]  # the result fetched


async def test_another_keys_task_is_unknown_to_it_and_the_refusals_are_audited():
    async with everything_behind() as (base, alice, bob, gateway):
        async with keyed(base, alice, "legacy") as mine, keyed(base, bob, "legacy") as theirs:
            task_id = (await create(mine, SHOWN, {"topic": "moss"}))["task"]["taskId"]
            for ask in (get, result, cancel):
                with pytest.raises(MCPError) as refused:
                    await ask(theirs, task_id)
                assert refused.value.code == INVALID_PARAMS and "Unknown task" in refused.value.message
            assert await listed(theirs) == []
            assert await listed(mine) == [task_id]
            assert (await cancel(mine, task_id)).status == "cancelled"
            assert (await get(mine, task_id)).status == "cancelled"
        records = [r for r in await gateway.governance.audit.query() if r["tool"] == f"task:{task_id}"]
        assert sorted(r["outcome"] for r in records) == ["denied", "denied", "denied", "ok"]


async def test_a_task_creation_is_limited_like_a_call_of_its_tool():
    limits = {"rate_limits": {"rules": [{"tools": f"everything/{TOOL}", "limit": "1/minute"}]}}
    async with everything_behind(**limits) as (base, alice, _, _gateway):
        async with keyed(base, alice, "legacy") as client:
            assert "task" in await create(client, SHOWN, {"topic": "one"})
            refused = types.CallToolResult.model_validate(await create(client, SHOWN, {"topic": "two"}))
            assert refused.is_error and "limit exceeded" in text_of(refused)


async def test_tasks_are_offered_only_where_an_upstream_offers_them():
    async with everything_behind() as (base, alice, _, _gateway):
        async with keyed(base, alice, "auto") as modern:  # 2026-07-28 has tasks only as an extension
            assert modern.protocol_version.startswith("2026") and modern.server_capabilities.tasks is None
    async with notes_server("http") as server, governed(url_config("notes", server.url)) as (base, alice, _, _gw):
        async with keyed(base, alice, "legacy") as client:
            assert client.server_capabilities.tasks is None
            answered = types.CallToolResult.model_validate(await create(client, "notes__add", {"a": 1, "b": 2}))
            assert not answered.is_error  # the `task` is ignored: the call is answered in full
            with pytest.raises(MCPError) as refused:
                await get(client, "notes.nothing")
            assert refused.value.code == INVALID_PARAMS


async def test_malformed_task_requests_are_refused_with_invalid_params():
    async with everything_behind() as (base, alice, _, _gateway):
        async with keyed(base, alice, "legacy") as client:
            dispatcher = client.session._dispatcher
            bad_calls = [
                {"name": SHOWN, "arguments": {"topic": "x"}, "task": "soon"},
                {"name": SHOWN, "arguments": {"topic": "x"}, "task": {"ttl": "long"}},
                {"name": 7, "arguments": {}, "task": {}},
                {"name": SHOWN, "arguments": [1], "task": {}},
            ]
            for params in bad_calls:
                with pytest.raises(MCPError) as refused:
                    await dispatcher.send_raw_request("tools/call", params, {})
                assert refused.value.code == INVALID_PARAMS
            for method, params in [("tasks/get", {}), ("tasks/result", {"taskId": 5}), ("tasks/list", {"cursor": "x"})]:
                with pytest.raises(MCPError) as refused:
                    await dispatcher.send_raw_request(method, params, {})
                assert refused.value.code == INVALID_PARAMS
            assert "task" in await create(client, SHOWN, {"topic": "still served"})


async def test_status_changes_reach_the_client_that_created_the_task_and_no_other():
    mine, theirs = StatusSeen(), StatusSeen()
    async with everything_behind() as (base, alice, bob, _gateway):
        async with keyed(base, alice, "legacy", extensions=[mine]) as client:
            async with keyed(base, bob, "legacy", extensions=[theirs]) as other:
                assert await listed(other) == []
                task_id, _ = await research(client, SHOWN)
                with anyio.fail_after(5):
                    while (task_id, "completed") not in mine.seen:
                        await anyio.sleep(0.1)
    assert {seen_id for seen_id, _ in mine.seen} == {task_id}  # the gateway's id, never the upstream's
    assert {"working", "completed"} <= {status for _, status in mine.seen}
    assert theirs.seen == []
