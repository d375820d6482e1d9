"""The direct paths' validation of a `tools/call` result: the same objects the SDK session's adapter makes."""

from types import SimpleNamespace
from typing import Any

import pytest
from mcp.client.session import _CallToolResultAdapter
from pydantic import ValidationError

from mcp_guard.upstreams.direct_result import _validated

TEXT = {"type": "text", "text": "x"}
RAWS: list[dict[str, Any]] = [
    {"content": [TEXT]},
    {"content": [TEXT], "isError": True, "_meta": {"a": 1}},
    {"content": [], "resultType": "complete"},
    {"content": [TEXT], "structuredContent": {"a": [1, 2.5]}},
    {"content": [TEXT], "unknown": 5},
    {"content": [{"type": "image", "data": "aGk=", "mimeType": "image/png"}, TEXT]},
    {"content": [TEXT], "isError": "true"},  # lax only: the union's answer
    {"content": [TEXT], "isError": 1},
    {"content": [TEXT], "resultType": "input_required"},
    {"content": [TEXT], "inputRequests": {}},
    {"resultType": "input_required", "inputRequests": {}, "requestState": "s"},
    {"content": "not a list"},
    {"_meta": {"a": 1}},
    {"content": [{"type": "text"}]},
]


@pytest.mark.parametrize("raw", RAWS)
def test_the_same_result_or_error_as_the_sdk_adapter(raw):
    session: Any = SimpleNamespace(_call_tool_adapter=_CallToolResultAdapter)
    try:
        expected: Any = _CallToolResultAdapter.validate_python(raw, by_name=False)
    except ValidationError as exc:
        with pytest.raises(ValidationError) as raised:
            _validated(session, raw)
        assert raised.value.errors(include_context=False) == exc.errors(include_context=False)
        return
    found = _validated(session, raw)
    assert type(found) is type(expected) and found == expected
    assert found.model_fields_set == expected.model_fields_set
    assert found.__pydantic_extra__ == expected.__pydantic_extra__
