"""The precompiled argument check: it may only say "valid" where jsonschema agrees."""

from __future__ import annotations

import itertools
from typing import Any

import mcp_types as types
import pytest
from jsonschema.validators import validator_for

from mcp_guard.catalog import CatalogEntry
from mcp_guard.errors import BadRequest
from mcp_guard.fast_schema import compile_check
from mcp_guard.names import ToolRef

PYDANTIC_STYLE = {
    "type": "object",
    "title": "echoArguments",
    "properties": {
        "text": {"type": "string", "title": "Text"},
        "count": {"type": "integer", "default": 1},
        "ratio": {"type": "number"},
        "flag": {"type": "boolean"},
        "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "items": {"type": "array"},
        "options": {"type": "object"},
        "anything": {"description": "no constraint"},
        "when": {"type": "string", "format": "date-time"},
    },
    "required": ["text"],
}
ZOD_STYLE = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {"path": {"type": "string"}, "depth": {"type": "integer"}},
    "required": ["path"],
    "additionalProperties": False,
}
DRAFT4 = {**ZOD_STYLE, "$schema": "http://json-schema.org/draft-04/schema#"}

VALUES: list[Any] = ["x", "", 0, 1, -3, 1.0, 2.5, float("nan"), True, False, None, [], [1], {}, {"a": 1}, b"x"]
NAMES = ["text", "count", "ratio", "flag", "maybe", "items", "options", "anything", "when", "path", "depth", "other"]


def instances() -> list[dict[str, Any]]:
    """Every object of up to two of the names with any of the values."""
    found: list[dict[str, Any]] = [{}]
    for size in (1, 2):
        for names in itertools.combinations(NAMES, size):
            found += [dict(zip(names, values, strict=True)) for values in itertools.product(VALUES, repeat=size)]
    return found


@pytest.mark.parametrize("schema", [PYDANTIC_STYLE, ZOD_STYLE, DRAFT4], ids=["pydantic", "zod", "draft4"])
def test_the_check_never_accepts_what_jsonschema_refuses(schema: dict[str, Any]) -> None:
    check = compile_check(schema)
    assert check is not None
    validator = validator_for(schema)(schema)
    accepted = 0
    for arguments in instances():
        if check(arguments):
            accepted += 1
            assert validator.is_valid(arguments), arguments
    assert accepted > 0  # and it does accept the ordinary cases


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}},
        {"type": "object", "properties": {"n": {"enum": [1, 2]}}},
        {"type": "object", "properties": {"n": {"type": ["string", "null"]}}},
        {"type": "object", "properties": {"n": {"$ref": "#/$defs/N"}}, "$defs": {"N": {"type": "string"}}},
        {"type": "object", "additionalProperties": {"type": "string"}},
        {"type": "object", "properties": {"n": {"type": "any"}}},
        {"type": "object", "minProperties": 1},
        {"properties": {"n": {"type": "string"}}},
        {},
    ],
)
def test_schemas_outside_the_subset_get_no_check(schema: dict[str, Any]) -> None:
    assert compile_check(schema) is None


def entry(schema: dict[str, Any]) -> CatalogEntry:
    return CatalogEntry(ToolRef("s", "t"), "s__t", types.Tool(name="t", input_schema=schema))


def test_a_refused_call_still_gets_jsonschemas_message() -> None:
    tool = entry(PYDANTIC_STYLE)
    tool.validate_arguments({"text": "x", "count": 2})
    with pytest.raises(BadRequest, match=r"\['count'\]: 'two' is not of type 'integer'"):
        tool.validate_arguments({"text": "x", "count": "two"})
    with pytest.raises(BadRequest, match="'text' is a required property"):
        tool.validate_arguments({})


def test_jsonschema_decides_what_the_check_is_too_strict_for() -> None:
    tool = entry({"type": "object", "properties": {"n": {"type": "integer"}}})
    tool.validate_arguments({"n": 1.0})  # an integer to jsonschema (draft 2020-12), not to the check
