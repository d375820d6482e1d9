"""`plain_wire` builds the SDK's wire form of plain tool results by hand: it must give exactly what the
SDK's two pydantic round trips give, or decline (None) so that the SDK's path runs."""

from __future__ import annotations

from typing import Any

import mcp_types as types
import pytest
from mcp.client.session import _build_call_tool_adapter

from mcp_guard.errors import NotAllowed, UpstreamTimeout
from mcp_guard.results import error_result
from mcp_guard.router.fast_call import _sieved
from mcp_guard.router.wire_result import PLAIN_WIRE_VERSION, plain_wire

SERVER_INFO = "io.modelcontextprotocol/serverInfo"
ADAPTER = _build_call_tool_adapter(())  # what the direct upstream path parses replies with

TEXT = [{"type": "text", "text": "héllo \u2028 \ud800"}]
PLAIN = [  # raw results as upstreams send them: the hand-built form must be used for these
    {"content": TEXT},
    {"content": [], "isError": True},
    {"content": TEXT * 3, "isError": False, "resultType": "complete"},
    {"content": TEXT, "_meta": {SERVER_INFO: {"name": "echo", "version": "1.0.0"}}},
    {"content": TEXT, "_meta": {"a": None, "b": {"c": None}, SERVER_INFO: {"name": "x", "version": "1", "t": None}}},
    {"content": TEXT, "_meta": {SERVER_INFO: None, "z": [1, 2.5, -0.0, 2**80]}},
    {"content": TEXT, "_meta": {}},
    {"content": TEXT, "_meta": {"io_modelcontextprotocol_server_info": 1}},
    {"content": TEXT, "structuredContent": {"result": 4, "n": None, "deep": [{"x": [True, None, 1e300]}]}},
    {"content": TEXT, "structuredContent": [1, "two"]},
    {"content": TEXT, "structuredContent": "scalar"},
    {"content": TEXT, "structuredContent": None, "isError": 1, "unknown": {"ignored": True}},
    {"content": [{"type": "text", "text": "x", "extra": 1}]},  # unknown keys are ignored by both
]
DECLINED = [  # shapes the hand-built form leaves to the SDK
    {"content": [{"type": "text", "text": "x", "annotations": {"priority": 0.5}}]},
    {"content": [{"type": "text", "text": "x", "_meta": {"k": 1}}]},
    {"content": [{"type": "image", "data": "AAAA", "mimeType": "image/png"}]},
    {"content": TEXT, "structuredContent": {"x": float("nan")}},
    {"content": TEXT, "structuredContent": {"x": [float("inf")]}},
    {"content": TEXT, "_meta": {"x": float("-inf")}},
    {"content": TEXT, "resultType": "something_else"},
]


def sdk_wire(result: types.CallToolResult) -> dict[str, Any]:
    return _sieved(result, PLAIN_WIRE_VERSION)


@pytest.mark.parametrize("raw", PLAIN)
def test_plain_results_are_built_by_hand_exactly_as_the_sdk_serializes_them(raw: dict[str, Any]) -> None:
    result = ADAPTER.validate_python(raw, by_name=False)
    wire = plain_wire(result)
    assert wire is not None
    assert wire == sdk_wire(result)
    assert list(wire) == list(sdk_wire(result))  # key order too: it is the order of the bytes
    assert [list(block) for block in wire["content"]] == [list(block) for block in sdk_wire(result)["content"]]
    if "_meta" in wire:
        assert list(wire["_meta"]) == list(sdk_wire(result)["_meta"])


@pytest.mark.parametrize("raw", DECLINED)
def test_other_results_are_left_to_the_sdk(raw: dict[str, Any]) -> None:
    assert plain_wire(ADAPTER.validate_python(raw, by_name=False)) is None


@pytest.mark.parametrize(
    "result",
    [
        types.CallToolResult(content=[], structured_content={"when": (1, 2)}),  # a tuple becomes a list
        types.CallToolResult(content=[], structured_content={1: "key"}),  # a key becomes a string
        types.CallToolResult(content=[], meta={"x": object.__new__(type("Custom", (), {}))}),
    ],
)
def test_python_values_a_json_dump_would_change_are_left_to_the_sdk(result: types.CallToolResult) -> None:
    assert plain_wire(result) is None


def test_the_gateways_own_error_results_take_the_plain_form() -> None:
    for error in (NotAllowed("no", extra={"tool": "a/b"}), UpstreamTimeout("slow")):
        result = error_result(error)
        wire = plain_wire(result)
        assert wire is not None and wire == sdk_wire(result) and list(wire) == list(sdk_wire(result))


def test_deeply_nested_values_are_left_to_the_sdk() -> None:
    nested: Any = []
    for _ in range(5000):
        nested = [nested]
    assert plain_wire(types.CallToolResult(content=[], structured_content=nested)) is None
