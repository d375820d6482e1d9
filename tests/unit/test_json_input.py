"""Client JSON, bounded: bodies and tool calls that no upstream could take are refused with a 400 naming the
problem, never a RecursionError, a serialisation error or a broken upstream pipe."""

import json

import pytest

from mcp_guard.errors import MalformedInput
from mcp_guard.json_input import MAX_ARGUMENT_DEPTH, MAX_BODY_DEPTH, check_call, parse_body, printable


def nested(depth: int, leaf: object = "x") -> object:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"[" * 1000, f"nested deeper than {MAX_BODY_DEPTH} levels"),
        (b'{"text": "\\ud800"}', "lone surrogate"),
        (b'{"text": "\\udc00 tail"}', "lone surrogate"),
        (b'"\xff"', "not valid JSON"),
        (b"NaN", "not valid JSON"),
        (b'{"a": 1', "not valid JSON"),
    ],
)
def test_bodies_that_are_refused(raw, says):
    with pytest.raises(MalformedInput, match=says) as refused:
        parse_body(raw)
    assert refused.value.status == 400 and refused.value.message.startswith("Body is not valid JSON")


def test_good_bodies_parse_as_json_does():
    raw = json.dumps({"emoji": "😀", "n": [1, 2.5, None, True], "deep": nested(MAX_BODY_DEPTH - 2)}).encode()
    assert parse_body(raw) == json.loads(raw)


@pytest.mark.parametrize(
    ("name", "arguments", "says"),
    [
        ("notes__echo", {"text": "\ud800"}, "the string at ['text'] contains a lone surrogate (\\ud800 at"),
        ("notes__echo", {"\udfff": 1}, "In the arguments of 'notes__echo', a key at the top level contains"),
        ("notes__echo", {"a": [1, {"b": "ok\ud83d"}]}, "the string at ['a'][1]['b'] contains a lone surrogate"),
        ("notes__echo", nested(MAX_ARGUMENT_DEPTH + 1), f"nested deeper than {MAX_ARGUMENT_DEPTH} levels"),
        ("notes__echo", nested(5000), f"nested deeper than {MAX_ARGUMENT_DEPTH} levels"),
        ("\ud800", {}, "The tool name contains a lone surrogate"),
        ("", {}, "non-empty string"),
        (None, {}, "non-empty string, got NoneType"),
        ("x" * 600, {}, "600 characters long"),
    ],
)
def test_tool_calls_that_are_refused(name, arguments, says):
    with pytest.raises(MalformedInput) as refused:
        check_call(name, arguments)
    assert says in refused.value.message
    assert printable(refused.value.message) == refused.value.message  # the message itself is safe to send


@pytest.mark.parametrize(
    "arguments",
    [{}, None, "not an object", {"text": "héllo wörld 😀"}, nested(MAX_ARGUMENT_DEPTH - 1), {"list": [[[]]]}],
)
def test_tool_calls_that_pass(arguments):
    check_call("notes__echo", arguments)  # the schema, not this check, decides about the shape
