"""The virtual files `servers/<server>.d.ts` a model reads before writing Code Mode programs.

One file per server, from the catalog entries the caller may see (the gateway's one visibility rule
decides which; this module renders what it is given). Each file has:

- a header: what the server is called in code, how results and errors look, and a table from each
  method to the tool's gateway reference `server/tool`;
- one `declare const <serverBinding>: { ... }` with one documented method per tool, taking the tool's
  input type and returning `Promise<Output>` (typed when the tool has an output schema, else `unknown`);
- one `declare namespace <ServerType> { ... }` holding the interfaces and aliases the methods use, so
  type names of different servers never clash.

Identifiers come from `bindings.binding_names`, exactly as the sandbox binds them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .bindings import binding_names, pascal_case, type_namespace
from .meta_tools import MetaToolError
from .schema_ts import TypeWriter, doc_comment

if TYPE_CHECKING:
    from ..catalog import CatalogEntry

FILE_PREFIX = "servers/"
FILE_SUFFIX = ".d.ts"


def file_name(server: str) -> str:
    """`servers/<server>.d.ts`."""
    return f"{FILE_PREFIX}{server}{FILE_SUFFIX}"


def tool_files(entries: Iterable[CatalogEntry]) -> dict[str, str]:
    """The `.d.ts` text of every server among `entries`, keyed by file name, servers in sorted order."""
    by_server: dict[str, list[CatalogEntry]] = {}
    for entry in entries:
        by_server.setdefault(entry.ref.server, []).append(entry)
    servers = binding_names(by_server, kind="server")
    return {file_name(s): server_file(s, servers[s], by_server[s]) for s in sorted(by_server)}


def find_file(files: Mapping[str, object], file_name: str) -> str:
    """The file `file_name` names: exact first; `github`, `github.d.ts` and `servers/github` are accepted too."""
    stem = file_name.strip().removeprefix(FILE_PREFIX).removesuffix(FILE_SUFFIX)
    for candidate in (file_name, f"{FILE_PREFIX}{stem}{FILE_SUFFIX}"):
        if candidate in files:
            return candidate
    available = ", ".join(sorted(files)) or "none"
    raise MetaToolError(f"unknown file {file_name!r}; available: {available}")


def server_file(
    server: str,
    binding: str,
    entries: Sequence[CatalogEntry],
    methods: Mapping[str, str] | None = None,
    *,
    total: int | None = None,
) -> str:
    """The `.d.ts` text for one server whose global is `binding`.

    To declare only some of the tools a caller sees, pass those as `entries`, the method names of all the
    visible tools as `methods` (a name can depend on the others: `binding_names`) and their number as `total`.
    """
    methods = methods if methods is not None else binding_names((e.ref.tool for e in entries), kind="tool")
    ordered = sorted(entries, key=lambda e: methods[e.ref.tool])
    namespace = type_namespace(binding)
    writer = TypeWriter()
    signatures = [_method(entry, methods[entry.ref.tool], namespace, writer) for entry in ordered]
    parts = [
        _header(server, binding, [(methods[e.ref.tool], f"{e.ref.server}/{e.ref.tool}") for e in ordered], total),
        f"declare const {binding}: {{\n" + "\n".join(signatures) + "\n};\n",
    ]
    if writer.declarations:
        body = "\n".join(_indent(d) for d in writer.declarations)
        parts.append(f"declare namespace {namespace} {{\n{body}\n}}\n")
    return "\n".join(parts)


def _header(server: str, binding: str, mapping: list[tuple[str, str]], total: int | None) -> str:
    names = ", ".join(method for method, _ in mapping)
    width = max((len(method) for method, _ in mapping), default=0)
    table = "".join(f"//   {method.ljust(width)}  →  {ref}\n" for method, ref in mapping)
    example = mapping[0][0] if mapping else "method"
    count = f"{len(mapping)} tool{'' if len(mapping) == 1 else 's'}"
    if total is not None and total != len(mapping):  # a few methods, read after a search: the short form
        refs = ", ".join(f"{method} → {ref}" for method, ref in mapping)
        return f"// MCP server {json.dumps(server)}, global `{binding}`, {len(mapping)} of {total} tools: {refs}\n"
    return (
        f"// MCP server {json.dumps(server)}: {count}, methods of the global `{binding}`: {names}\n"
        f"// Call: `const r = await {binding}.{example}({{ ... }});` A refused or failed call throws a ToolError\n"
        '// (`e.kind`: "denied", "upstream" or "limit"). `Promise<unknown>` results are the tool\'s structured\n'
        "// content, else its text (parsed when it is a JSON object or array).\n"
        "//\n"
        "// method → tool:\n"
        f"{table}"
    )


def _method(entry: CatalogEntry, method: str, namespace: str, writer: TypeWriter) -> str:
    stem = pascal_case(method)
    schema = entry.tool.input_schema or {}
    input_type = _qualified(writer.named(schema, stem + "Input"), namespace, writer)
    required = bool(schema.get("required")) if isinstance(schema, Mapping) else False
    output_schema = entry.tool.output_schema
    output_type = (
        _qualified(writer.named(output_schema, stem + "Output"), namespace, writer) if output_schema else "unknown"
    )
    comment = doc_comment({"description": entry.tool.description or entry.tool.title or ""}, "  ", _hints(entry))
    return f"{comment}  {method}(args{'' if required else '?'}: {input_type}): Promise<{output_type}>;"


def _qualified(type_name: str, namespace: str, writer: TypeWriter) -> str:
    """Names declared in the namespace are referenced from the `declare const` block with its prefix."""
    declared = any(_declares(d, type_name) for d in writer.declarations)
    return f"{namespace}.{type_name}" if declared else type_name


def _declares(declaration: str, name: str) -> bool:
    return declaration.startswith((f"interface {name} ", f"type {name} "))


def _hints(entry: CatalogEntry) -> tuple[str, ...]:
    annotations: Any = entry.tool.annotations
    if entry.destructive:
        return ("@destructive (changes or deletes data)",)
    if annotations is not None and annotations.read_only_hint:
        return ("@readonly (does not change anything)",)
    return ()


def _indent(declaration: str) -> str:
    return "\n".join(f"  {line}" if line else line for line in declaration.splitlines())
