"""The 2026-07-28 wire form of a plain `CallToolResult`, built directly instead of through pydantic.

The SDK answers a `tools/call` with `model_dump` of the result, then `serialize_server_result` (a second
validation and dump, against the version's surface model). For the commonest result, text content plus
optional `_meta` and structured content of plain JSON values, those two round trips only reorder keys,
fill defaults and drop `None` extras: `plain_wire` does that by hand (4-5 % of the gateway's instructions
per governed call, ~20 µs). Anything else returns None and takes the SDK's path; `tests/unit/test_wire_result.py`
holds both to the same output.
"""

from __future__ import annotations

import math
from typing import Any

import mcp_types as types
from mcp_types import SERVER_INFO_META_KEY

PLAIN_WIRE_VERSION = "2026-07-28"  # the surface `plain_wire` repeats; other versions take the SDK's path
_COMPLETE = "complete"


def plain_wire(result: types.CallToolResult) -> dict[str, Any] | None:
    """What `serialize_server_result(model_dump(result))` gives, when `result` is plain; else None."""
    if type(result) is not types.CallToolResult or type(result.is_error) is not bool:
        return None
    if result.result_type != _COMPLETE or type(result.result_type) is not str:
        return None  # other result types are sieved (or not) by rules this does not repeat
    content = _text_content(result.content)
    if content is None:
        return None
    wire: dict[str, Any] = {}
    if result.meta is not None:
        meta = _result_meta(result.meta)
        if meta is None:
            return None
        wire["_meta"] = meta
    wire["content"] = content
    wire["isError"] = result.is_error
    wire["resultType"] = _COMPLETE
    structured = result.structured_content
    if structured is not None:
        if not _native(structured):
            return None
        wire["structuredContent"] = structured
    return wire


def _text_content(blocks: list[Any]) -> list[dict[str, Any]] | None:
    """Text blocks without annotations or `_meta`, in the surface model's key order; None for others."""
    wire = []
    for block in blocks:
        if type(block) is not types.TextContent or block.annotations is not None or block.meta is not None:
            return None
        if type(block.text) is not str or block.type != "text":
            return None
        wire.append({"text": block.text, "type": "text"})
    return wire


def _result_meta(meta: Any) -> dict[str, Any] | None:
    """The surface's `ResultMetaObject`: server info first, then the other keys, `None` values dropped."""
    if type(meta) is not dict or not _native(meta):
        return None
    wire = {}
    server_info = meta.get(SERVER_INFO_META_KEY)
    if server_info is not None:
        wire[SERVER_INFO_META_KEY] = server_info
    for key, value in meta.items():
        if value is not None and key != SERVER_INFO_META_KEY:
            wire[key] = value
    return wire


def _native(value: Any) -> bool:
    """True when a JSON-mode dump leaves `value` unchanged: JSON types only, string keys, finite floats
    (pydantic turns NaN and infinities into null, tuples into lists, keys into strings)."""
    try:
        return _walk(value)
    except RecursionError:
        return False


def _walk(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(type(key) is str and _walk(item) for key, item in value.items())
    if kind is list:
        return all(_walk(item) for item in value)
    return False
