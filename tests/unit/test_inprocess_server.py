"""`InProcessServer` gives the SDK's own results, and `InProcessUpstream` times out only calls that wait."""

from __future__ import annotations

from typing import Any, TypedDict

import anyio
import mcp_types as types
import pytest
from mcp.server.mcpserver.tools.base import Tool as SdkTool
from pydantic import BaseModel

from mcp_guard import InProcessServer, ServerConfig
from mcp_guard.errors import UpstreamTimeout
from mcp_guard.upstreams.inprocess import InProcessUpstream

pytestmark = pytest.mark.anyio


class Point(BaseModel):
    x: int
    y: int


class Labelled(Point):
    label: str


class Totals(TypedDict):
    count: int
    names: list[str]


async def text(value: str) -> str:
    return value


async def number(value: str) -> float:
    return float(value)


async def model(value: str) -> Point:
    return Labelled(x=1, y=int(value), label="subclass") if value == "2" else Point(x=1, y=int(value))


async def typed_dict(value: str) -> Totals:
    return {"count": len(value), "names": [value]}


async def mapping(value: str) -> dict[str, Any]:
    return {"value": value, "nested": {"list": [1, 2]}}


async def several(value: str) -> list[str]:
    return [value, value]


async def unannotated(value: str):  # type: ignore[no-untyped-def]
    return {"free": value}


async def nothing(value: str) -> None:
    return None


async def own_result(value: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=value)])


async def wrong_type(value: str) -> int:
    return value  # type: ignore[return-value]


TOOLS = [text, number, model, typed_dict, mapping, several, unannotated, nothing, own_result, wrong_type]


@pytest.mark.parametrize("tool", TOOLS, ids=[t.__name__ for t in TOOLS])
@pytest.mark.parametrize("value", ["1", "2"])
async def test_results_are_the_sdks_own(tool: Any, value: str) -> None:
    server = InProcessServer("s")
    server.add(tool)
    ours = await server.call(tool.__name__, {"value": value})
    sdk = SdkTool.from_function(tool)
    meta = sdk.fn_metadata
    try:
        expected = meta.convert_result(
            await meta.call_fn(sdk.fn, sdk.is_async, meta.validate_arguments({"value": value}))
        )
    except Exception:
        assert ours.is_error and "error id" in ours.content[0].text  # a crash, reported as such
        return
    assert ours.model_dump(by_alias=True, exclude_none=True) == expected.model_dump(by_alias=True, exclude_none=True)


async def test_list_arguments_sent_as_json_strings_are_parsed_as_the_sdk_does() -> None:
    server = InProcessServer("s")

    @server.tool
    async def total(numbers: list[int], note: str = "") -> int:
        return sum(numbers)

    assert (await server.call("total", {"numbers": "[1, 2, 3]", "note": "[not parsed]"})).structured_content == {
        "result": 6
    }
    refused = await server.call("total", {"numbers": "not json"})
    assert refused.is_error and "Invalid arguments for tool total" in refused.content[0].text


def upstream(server: InProcessServer, timeout: float = 0.2) -> InProcessUpstream:
    return InProcessUpstream(ServerConfig(name="s", transport="inprocess", target="x:y", call_timeout=timeout), server)


async def test_calls_that_suspend_finish_under_the_timeout_or_time_out() -> None:
    server = InProcessServer("s")
    finished: list[str] = []

    @server.tool
    async def steps(count: int) -> int:
        for _ in range(count):
            await anyio.sleep(0)
        return count

    @server.tool
    def blocking(value: str) -> str:  # a sync tool runs in a worker thread
        return value.upper()

    @server.tool
    async def hang() -> str:
        try:
            await anyio.sleep(30)
        finally:
            finished.append("cleanup ran")
        return "never"

    calls = upstream(server)
    assert (await calls.call("steps", {"count": 0})).structured_content == {"result": 0}
    assert (await calls.call("steps", {"count": 5})).structured_content == {"result": 5}
    assert (await calls.call("blocking", {"value": "x"})).structured_content == {"result": "X"}
    with anyio.fail_after(5), pytest.raises(UpstreamTimeout, match="did not finish within 0.2 s"):
        await calls.call("hang", {})
    assert finished == ["cleanup ran"]  # the timeout's cancellation reached the tool


async def test_a_caller_cancelled_while_the_tool_waits_cancels_the_tool() -> None:
    server = InProcessServer("s")
    events: list[str] = []

    @server.tool
    async def slow() -> str:
        try:
            await anyio.sleep(30)
        except anyio.get_cancelled_exc_class():
            events.append("cancelled")
            raise
        return "never"

    with anyio.move_on_after(0.05):
        await upstream(server, timeout=60).call("slow", {})
    assert events == ["cancelled"]


async def test_a_tool_that_fails_after_suspending_is_reported_as_a_crash() -> None:
    server = InProcessServer("s")

    @server.tool
    async def fails() -> str:
        await anyio.sleep(0)
        raise RuntimeError("secret detail")

    result = await upstream(server).call("fails", {})
    assert result.is_error and "error id" in result.content[0].text and "secret" not in result.content[0].text
