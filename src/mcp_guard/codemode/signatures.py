"""One-line TypeScript signatures of tools, for the cheap detail levels of `readToolFile` and `searchTools`.

`github.createIssue(args: { owner: string; repo: string; title: string; body?; labels? })`

Required members show their types, inlined to a small depth (deeper objects become `{...}`, long unions
are cut with `| ...`); optional members show only their names (`body?;` is valid TypeScript: any type),
and the result type shows only when the tool declares one. The full declarations with their docs are
`readToolFile`'s detail level "full". Names and rules are those of
the `.d.ts` files (`bindings`, `schema_ts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .schema_ts import literal_type, property_name

_MAX_DEPTH = 2
_MAX_UNION = 4
_MAX_MEMBERS = 12
_PRIMITIVES = {"string": "string", "number": "number", "integer": "number", "boolean": "boolean", "null": "null"}


def signature(binding: str, method: str, input_schema: Any, output_schema: Any) -> str:
    """`binding.method(args: {...})`, with `: Promise<...>` when the tool declares its result."""
    schema = input_schema if isinstance(input_schema, Mapping) else {}
    optional = "" if schema.get("required") else "?"
    result = f": Promise<{compact_type(output_schema, 1)}>" if output_schema else ""
    return f"{binding}.{method}(args{optional}: {compact_type(schema, 0)}){result}"


def first_sentence(text: str | None, limit: int = 120) -> str:
    """The description's first sentence (or line), cut at `limit` characters."""
    line = " ".join((text or "").split())
    for end in (". ", "! ", "? "):
        if end in line:
            line = line[: line.index(end) + 1]
            break
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def compact_type(schema: Any, depth: int) -> str:
    """A one-line type for `schema`; objects below `_MAX_DEPTH` show their members."""
    if not isinstance(schema, Mapping):
        return "unknown"
    if "const" in schema:
        return literal_type(schema["const"])
    if isinstance(schema.get("enum"), list):
        return _union([literal_type(v) for v in schema["enum"]])
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return _union([compact_type(member, depth + 1) for member in schema[key]])
    if "$ref" in schema or "allOf" in schema:
        return "object"
    kind = schema.get("type")
    if isinstance(kind, list):
        return _union([compact_type({**schema, "type": k}, depth) for k in kind])
    if kind == "array":
        item = compact_type(schema.get("items"), depth + 1)
        return f"({item})[]" if " | " in item else f"{item}[]"
    if kind == "object" or "properties" in schema:
        return _object(schema, depth)
    return _PRIMITIVES.get(str(kind), "unknown")


def _object(schema: Mapping[str, Any], depth: int) -> str:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or not properties:
        return "{}" if isinstance(properties, Mapping) else "object"
    if depth >= _MAX_DEPTH:
        return "{...}"
    required = set(schema.get("required") or ())
    members = [
        f"{property_name(key)}: {compact_type(sub, depth + 1)}" if key in required else f"{property_name(key)}?"
        for key, sub in list(properties.items())[:_MAX_MEMBERS]
    ]
    if len(properties) > _MAX_MEMBERS:
        members.append("...")
    return "{ " + "; ".join(members) + " }"


def _union(parts: list[str]) -> str:
    unique = list(dict.fromkeys(parts))
    if "unknown" in unique or not unique:
        return "unknown"
    shown = unique[:_MAX_UNION] + (["..."] if len(unique) > _MAX_UNION else [])
    return " | ".join(shown)
