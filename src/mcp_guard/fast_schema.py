"""A precompiled check for the commonest tool input schema, in front of jsonschema.

Most tools take an object of named scalar parameters: what pydantic generates for a Python function
(`{"type": "object", "properties": {"text": {"type": "string", "title": "Text"}}, "required": ["text"]}`),
and what zod and most hand-written schemas look like. For such a schema `compile_check` builds a function
that answers in ≈ 0.3 µs where jsonschema's `iter_errors` takes ≈ 7 µs per call.

The check only ever says "valid" when jsonschema would (it accepts a subset: an integer must be an `int`,
not `1.0`), so its "valid" is final; anything else goes to jsonschema, which decides and words the error.
A schema with any keyword outside the subset gets no check (`None`), and jsonschema does all the work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

_TYPES: dict[str, Check] = {
    "string": lambda value: type(value) is str,
    "integer": lambda value: type(value) is int,
    "number": lambda value: type(value) is int or type(value) is float,
    "boolean": lambda value: type(value) is bool,
    "null": lambda value: value is None,
    "array": lambda value: type(value) is list,
    "object": lambda value: type(value) is dict,
}
# Keywords that never make an instance invalid (jsonschema asserts no `format` unless given a checker).
_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "format", "deprecated"})
_OBJECT_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties", "$schema"}) | _ANNOTATIONS


def compile_check(schema: Mapping[str, Any]) -> Callable[[dict[str, Any]], bool] | None:
    """A check for an argument object against `schema`, or None when the schema is outside the subset."""
    if schema.get("type") != "object" or not _OBJECT_KEYWORDS.issuperset(schema):
        return None
    properties, required = schema.get("properties", {}), schema.get("required", [])
    closed = schema.get("additionalProperties", True)
    if not isinstance(properties, dict) or not isinstance(required, list) or not isinstance(closed, bool):
        return None
    if not all(isinstance(name, str) for name in required):
        return None
    checks: dict[str, Check] = {}
    for name, subschema in properties.items():
        value_check = _value_check(subschema)
        if value_check is None:
            return None
        checks[name] = value_check
    return _object_check(checks, tuple(required), allow_others=closed)


def _object_check(checks: dict[str, Check], required: tuple[str, ...], *, allow_others: bool) -> Callable[..., bool]:
    def check(arguments: dict[str, Any]) -> bool:
        for name in required:
            if name not in arguments:
                return False
        for name, value in arguments.items():
            value_check = checks.get(name)
            if value_check is None:
                if not allow_others:
                    return False
            elif not value_check(value):
                return False
        return True

    return check


def _value_check(schema: Any) -> Check | None:
    """A property's check: one JSON type, `anyOf` such types (pydantic's `X | None`), or no constraint."""
    if not isinstance(schema, dict):
        return None
    keywords = set(schema) - _ANNOTATIONS
    if not keywords:
        return lambda value: True
    if keywords == {"type"}:
        return _TYPES.get(schema["type"]) if isinstance(schema["type"], str) else None
    if keywords == {"anyOf"} and isinstance(schema["anyOf"], list) and schema["anyOf"]:
        options = [_value_check(option) for option in schema["anyOf"]]
        known = [option for option in options if option is not None]
        if len(known) < len(options):
            return None
        return lambda value: any(option(value) for option in known)
    return None
