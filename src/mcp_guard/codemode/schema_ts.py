"""JSON Schema → TypeScript types, for the `.d.ts` files a model reads in Code Mode.

`TypeWriter` renders schemas into one namespace's worth of declarations: objects with properties become
named interfaces (named after where they occur: `CreateIssueInput`, `CreateIssueInputAuthor`,
`ListItemsOutputItemsItem`), `$ref`s into `$defs`/`definitions` become one named type each (shared by
every tool whose schema holds the same definition), and everything else renders inline:

    enum / const        literal unions ("open" | "closed")
    anyOf / oneOf       unions;  allOf: intersections;  type lists and `nullable`: `| null`
    array               T[] (tuples from `prefixItems` or an `items` list)
    additionalProperties an index signature `[key: string]: T`
    description, default, format, bounds, deprecated → the `/** ... */` doc comment of the property

Anything the mapping cannot express (external `$ref`, `not`, a nesting deeper than `MAX_DEPTH`) renders
as `unknown`, which is always safe to hand to a program.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .bindings import pascal_case

MAX_DEPTH = 24
_IDENTIFIER_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$")
_IDENTIFIER_CHARS = _IDENTIFIER_START | frozenset("0123456789")
_SHAPE_KEYS = ("type", "properties", "items", "prefixItems", "enum", "const", "$ref", "anyOf", "oneOf", "allOf")
_PRIMITIVES = {"string": "string", "number": "number", "integer": "number", "boolean": "boolean", "null": "null"}
_DOC_BOUNDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "pattern",
)


@dataclass
class _Document:
    """One tool schema: the root `$ref` pointers resolve against, and the names its definitions got."""

    root: Mapping[str, Any]
    prefix: str
    names: dict[str, str] = field(default_factory=dict)


class TypeWriter:
    """Collects the declarations of one namespace; `render` returns a type expression."""

    def __init__(self) -> None:
        self.declarations: list[str] = []
        self._taken: dict[str, str] = {}  # type name → canonical JSON of the schema behind it
        self._pending: set[str] = set()  # names a `$ref` claimed before its target was rendered

    def render(self, schema: Any, name: str, root: Mapping[str, Any] | None = None) -> str:
        """The TypeScript type of `schema`; an object with properties becomes the interface `name`."""
        document = _Document(root if root is not None else (schema if isinstance(schema, Mapping) else {}), name)
        document.names["#"] = name  # a recursive reference to the whole schema
        return self._type(schema, name, document, 0)

    def named(self, schema: Any, name: str, root: Mapping[str, Any] | None = None) -> str:
        """Like `render`, but always a name: a type alias is declared when the type is not one already."""
        rendered = self.render(schema, name, root)
        if rendered in self._taken or rendered in ("unknown", "{}"):
            return rendered
        alias = self._claim(name, {"alias": rendered})
        self.declarations.append(f"type {alias} = {rendered};")
        return alias

    def _type(self, schema: Any, hint: str, doc: _Document, depth: int) -> str:
        if schema is True or schema is None:
            return "unknown"
        if schema is False:
            return "never"
        if not isinstance(schema, Mapping) or depth > MAX_DEPTH:
            return "unknown"
        base = self._shape(schema, hint, doc, depth)
        if schema.get("nullable") is True and base not in ("unknown", "null"):
            base = _union([base, "null"])
        return base

    def _shape(self, schema: Mapping[str, Any], hint: str, doc: _Document, depth: int) -> str:
        if "$ref" in schema:
            return self._ref(str(schema["$ref"]), doc, depth)
        if "const" in schema:
            return literal_type(schema["const"])
        if isinstance(schema.get("enum"), list):
            return _union([literal_type(v) for v in schema["enum"]]) or "never"
        combined = self._combinators(schema, hint, doc, depth)
        own = self._typed(schema, hint, doc, depth) if _has_own_shape(schema) else None
        if own is not None and combined is not None:
            return f"{_wrap(own)} & {_wrap(combined)}"
        return own or combined or "unknown"

    def _combinators(self, schema: Mapping[str, Any], hint: str, doc: _Document, depth: int) -> str | None:
        parts: list[str] = []
        for key, joiner in (("anyOf", _union), ("oneOf", _union), ("allOf", _intersection)):
            members = [m for m in schema.get(key) or () if not isinstance(m, Mapping) or _describes_shape(m)]
            if members:
                names = [self._type(m, _variant_name(hint, m, i), doc, depth + 1) for i, m in enumerate(members)]
                parts.append(joiner(names))
        return _intersection(parts) if parts else None

    def _typed(self, schema: Mapping[str, Any], hint: str, doc: _Document, depth: int) -> str:
        kinds = schema.get("type")
        if kinds is None:
            kinds = "object" if "properties" in schema or "additionalProperties" in schema else "array"
        kind_list = kinds if isinstance(kinds, list) else [kinds]
        return _union([self._one_type(str(k), schema, hint, doc, depth) for k in kind_list]) or "unknown"

    def _one_type(self, kind: str, schema: Mapping[str, Any], hint: str, doc: _Document, depth: int) -> str:
        if kind == "object":
            return self._object(schema, hint, doc, depth)
        if kind == "array":
            return self._array(schema, hint, doc, depth)
        return _PRIMITIVES.get(kind, "unknown")

    def _array(self, schema: Mapping[str, Any], hint: str, doc: _Document, depth: int) -> str:
        tuple_items = schema.get("prefixItems", schema.get("items") if isinstance(schema.get("items"), list) else None)
        if isinstance(tuple_items, list):
            members = [self._type(item, f"{hint}Item{i + 1}", doc, depth + 1) for i, item in enumerate(tuple_items)]
            return f"[{', '.join(members)}]"
        items = schema.get("items")
        return f"{_wrap(self._type(items, hint + 'Item', doc, depth + 1))}[]" if items is not None else "unknown[]"

    def _object(self, schema: Mapping[str, Any], hint: str, doc: _Document, depth: int) -> str:
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        if not isinstance(properties, Mapping) or not properties:
            if extra is False or (isinstance(properties, Mapping) and extra is None):  # `properties: {}`: no keys
                return "{}"
            value = self._type(extra if isinstance(extra, Mapping) else True, hint + "Value", doc, depth + 1)
            return f"{{ [key: string]: {value} }}"
        name = self._claim(hint, schema)
        slot = len(self.declarations)  # declared before the nested types its members create
        self.declarations.append("")
        required = set(schema.get("required") or ())
        members = [self._member(key, sub, key in required, name, doc, depth) for key, sub in properties.items()]
        if extra is True or isinstance(extra, Mapping):  # explicit: more keys are allowed
            members.append("  [key: string]: unknown;")
        self.declarations[slot] = f"interface {name} {{\n" + "\n".join(members) + "\n}"
        return name

    def _member(self, key: str, schema: Any, required: bool, parent: str, doc: _Document, depth: int) -> str:
        rendered = self._type(schema, parent + pascal_case(key), doc, depth + 1)
        comment = doc_comment(schema if isinstance(schema, Mapping) else {}, indent="  ")
        return f"{comment}  {property_name(key)}{'' if required else '?'}: {rendered};"

    def _ref(self, ref: str, doc: _Document, depth: int) -> str:
        if ref in doc.names:
            return doc.names[ref]
        target = _resolve(doc.root, ref)
        if target is None:
            return "unknown"
        short = pascal_case(ref.rsplit("/", 1)[-1])
        if self._taken.get(short) == _canonical(target):  # the same definition, met in another tool
            doc.names[ref] = short
            return short
        name = doc.names[ref] = self._claim(short, target, fallback=doc.prefix + short)
        self._pending.add(name)
        rendered = self._type(target, name, doc, depth + 1)
        self._pending.discard(name)
        if rendered != name:  # not an interface of that name: declare an alias (recursion resolves to it)
            self.declarations.append(f"type {name} = {rendered};")
        return name

    def _claim(self, wanted: str, schema: Any, fallback: str | None = None) -> str:
        """A type name not used yet in this namespace: `wanted`, else `fallback`, else numbered.

        A name a `$ref` reserved for its target is handed to that target's interface itself.
        """
        if wanted in self._pending:
            self._pending.discard(wanted)
            return wanted
        for candidate in (wanted, fallback):
            if candidate is not None and candidate not in self._taken:
                self._taken[candidate] = _canonical(schema)
                return candidate
        number = 2
        while f"{wanted}{number}" in self._taken:
            number += 1
        self._taken[f"{wanted}{number}"] = _canonical(schema)
        return f"{wanted}{number}"


def doc_comment(schema: Mapping[str, Any], indent: str = "", extra: tuple[str, ...] = ()) -> str:
    """`/** ... */` from description, default, format, bounds and deprecation; "" when there is nothing."""
    lines = [line.rstrip() for line in str(schema.get("description") or "").strip().splitlines()]
    tags = list(extra)
    if "default" in schema:
        tags.append(f"@default {json.dumps(schema['default'], ensure_ascii=False)}")
    if schema.get("format"):
        tags.append(f"@format {schema['format']}")
    bounds = [f"{key} {json.dumps(schema[key], ensure_ascii=False)}" for key in _DOC_BOUNDS if key in schema]
    if bounds:
        tags.append("@constraint " + ", ".join(bounds))
    if schema.get("deprecated") is True:
        tags.append("@deprecated")
    text = [line.replace("*/", "*\\/") for line in [*lines, *tags]]
    if not text:
        return ""
    if len(text) == 1:
        return f"{indent}/** {text[0]} */\n"
    body = "".join(f"{indent} *{' ' + line if line else ''}\n" for line in text)
    return f"{indent}/**\n{body}{indent} */\n"


def _resolve(root: Mapping[str, Any], ref: str) -> Any:
    """A local JSON pointer (`#/$defs/X`, `#/definitions/X`, `#`) inside `root`; None otherwise."""
    if not ref.startswith("#"):
        return None
    node: Any = root
    for raw in filter(None, ref[1:].split("/")):
        key = raw.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _has_own_shape(schema: Mapping[str, Any]) -> bool:
    return any(k in schema for k in ("type", "properties", "items", "prefixItems", "additionalProperties"))


def _describes_shape(schema: Mapping[str, Any]) -> bool:
    """Whether a combinator member says anything about the type (not just `required: [...]`)."""
    return any(k in schema for k in _SHAPE_KEYS)


def _variant_name(hint: str, schema: Any, index: int) -> str:
    title = schema.get("title") if isinstance(schema, Mapping) else None
    return hint + (pascal_case(str(title)) if title else f"Option{index + 1}")


def literal_type(value: Any) -> str:
    if value is None or isinstance(value, (str, bool, int, float)):
        return json.dumps(value, ensure_ascii=False)
    return "unknown"


def _union(parts: list[str]) -> str:
    unique = list(dict.fromkeys(parts))
    if "unknown" in unique:
        return "unknown"
    return " | ".join(_wrap(p) if " & " in p else p for p in unique)


def _intersection(parts: list[str]) -> str:
    unique = [p for p in dict.fromkeys(parts) if p != "unknown"]
    if len(unique) == 1:
        return unique[0]
    return " & ".join(_wrap(p) for p in unique) if unique else "unknown"


def _wrap(type_text: str) -> str:
    return f"({type_text})" if " | " in type_text or " & " in type_text else type_text


def property_name(key: str) -> str:
    if key and key[0] in _IDENTIFIER_START and all(c in _IDENTIFIER_CHARS for c in key):
        return key
    return json.dumps(key, ensure_ascii=False)


def _canonical(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True, default=str)
