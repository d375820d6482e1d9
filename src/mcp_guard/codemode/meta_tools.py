"""The tools a model sees in Code Mode instead of the catalog, the classic `search_tools`, and their arguments.

    listToolFiles                                   one line per server: its file, global and topics
    searchTools(query, limit?, detail?)             the best-matching tools, as methods of the server globals
    readToolFile(fileName, detail?, methods?, startLine?, endLine?)
                                                    a server's declarations: names, signatures or full
    executeToolCode(code)                           run a TypeScript program (see `executor.execute`)

    search_tools(query, limit?)                     classic clients: matching tool definitions to call directly

Their descriptions teach the workflow: search (or list) first, read only what is needed, write one program
that does all the calls and returns a small result. Answers come from `discovery.ToolIndex`; this module
only defines the tools and checks the arguments a client sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import mcp_types as types

from .settings import CodeModeSettings

LIST_TOOL_FILES = "listToolFiles"
SEARCH_TOOLS = "searchTools"
READ_TOOL_FILE = "readToolFile"
EXECUTE_TOOL_CODE = "executeToolCode"
META_TOOL_NAMES = frozenset({LIST_TOOL_FILES, SEARCH_TOOLS, READ_TOOL_FILE, EXECUTE_TOOL_CODE})
CLASSIC_SEARCH_TOOL = "search_tools"

Detail = Literal["names", "signatures", "full"]
DETAILS: tuple[Detail, ...] = ("names", "signatures", "full")
DEFAULT_LIMIT = 5
MAX_LIMIT = 20
_MAX_QUERY_CHARS = 500


class MetaToolError(ValueError):
    """A meta-tool call that cannot be answered: unknown file, bad line range, missing or bad arguments."""


@dataclass(frozen=True, slots=True)
class ReadRequest:
    file_name: str
    detail: Detail = "full"
    methods: tuple[str, ...] | None = None
    start_line: int | None = None
    end_line: int | None = None


@dataclass(frozen=True, slots=True)
class SearchRequest:
    query: str
    limit: int = DEFAULT_LIMIT
    detail: Detail = "signatures"


_READ_ONLY = types.ToolAnnotations(read_only_hint=True, open_world_hint=False)
_QUERY = {"type": "string", "description": "What the tool should do, e.g. 'create an issue'"}
_LIMIT = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}
_DETAIL = {"type": "string", "enum": list(DETAILS)}


def meta_tools(settings: CodeModeSettings | None = None) -> list[types.Tool]:
    """The MCP definitions of Code Mode's four meta-tools; descriptions state the configured limits."""
    limits = settings or CodeModeSettings()
    return [
        _tool(LIST_TOOL_FILES, "Code Mode: the servers your code can use, one line each.", {}),
        _tool(
            SEARCH_TOOLS,
            "Code Mode, step 1: find tools for a task, best first, as methods of the server globals. "
            "detail: names, signatures (default) or full.",
            {"query": _QUERY, "limit": _LIMIT, "detail": _DETAIL},
            required=["query"],
        ),
        _tool(
            READ_TOOL_FILE,
            "Code Mode, step 2: a server's declarations (detail: names, signatures or full, the default), "
            "only some methods, or a line range.",
            {
                "fileName": {"type": "string", "description": "e.g. servers/github.d.ts"},
                "detail": _DETAIL,
                "methods": {"type": "array", "items": {"type": "string"}},
                "startLine": {"type": "integer", "minimum": 1},
                "endLine": {"type": "integer", "minimum": 1},
            },
            required=["fileName"],
        ),
        _tool(
            EXECUTE_TOOL_CODE,
            _execute_description(limits),
            {"code": {"type": "string", "description": "TypeScript: an async function body."}},
            required=["code"],
            read_only=False,
        ),
    ]


def classic_search_tool() -> types.Tool:
    """`search_tools`, for clients that call tools directly: its results are tools to call by name."""
    return _tool(
        CLASSIC_SEARCH_TOOL,
        "Find tools for a task among all the tools you may use (they are not listed). Returns the best "
        "matches with their input schemas; call them by their name.",
        {"query": _QUERY, "limit": _LIMIT},
        required=["query"],
    )


def _tool(
    name: str,
    description: str,
    properties: dict[str, Any],
    *,
    required: list[str] | None = None,
    read_only: bool = True,
) -> types.Tool:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return types.Tool(
        name=name, description=description, input_schema=schema, annotations=_READ_ONLY if read_only else None
    )


def _execute_description(limits: CodeModeSettings) -> str:
    return (
        "Code Mode, step 3: run ONE TypeScript program (the body of an async function) that does all the calls, "
        "e.g. `await github.createIssue({...})`, runs independent ones with Promise.all, and returns a small "
        "JSON-able value; it, console output and a call summary come back. No network, files or modules. "
        f"Limits: {limits.timeout_seconds:g} s, {limits.memory_limit_bytes // (1024 * 1024)} MB, "
        f"{limits.max_tool_calls} tool calls. A refused or failed call throws a ToolError "
        "(e.kind: denied, upstream or limit)."
    )


def read_request(arguments: Mapping[str, Any] | None) -> ReadRequest:
    """The arguments of a `readToolFile` call, checked."""
    arguments = arguments or {}
    file_name = arguments.get("fileName")
    if not isinstance(file_name, str) or not file_name:
        raise MetaToolError(f"{READ_TOOL_FILE} needs fileName, a string such as 'servers/github.d.ts'")
    methods = arguments.get("methods")
    if methods is not None and (not isinstance(methods, list) or not all(isinstance(m, str) for m in methods)):
        raise MetaToolError(f"methods must be a list of method names, got {methods!r}")
    return ReadRequest(
        file_name,
        _detail_argument(arguments, "full"),
        tuple(methods) if methods else None,
        _whole_number(arguments, "startLine"),
        _whole_number(arguments, "endLine"),
    )


def search_request(arguments: Mapping[str, Any] | None, name: str = SEARCH_TOOLS) -> SearchRequest:
    """The arguments of a `searchTools` or `search_tools` call, checked."""
    arguments = arguments or {}
    query = arguments.get("query")
    if not isinstance(query, str) or not query.strip():
        raise MetaToolError(f"{name} needs query, a few words saying what the tool should do")
    if len(query) > _MAX_QUERY_CHARS:
        raise MetaToolError(f"query is longer than {_MAX_QUERY_CHARS} characters")
    limit = _whole_number(arguments, "limit")
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise MetaToolError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return SearchRequest(query, limit or DEFAULT_LIMIT, _detail_argument(arguments, "signatures"))


def code_argument(arguments: Mapping[str, Any] | None) -> str:
    """The `code` of an `executeToolCode` call; `MetaToolError` when it is missing or not a string."""
    code = (arguments or {}).get("code")
    if not isinstance(code, str) or not code.strip():
        raise MetaToolError(f"{EXECUTE_TOOL_CODE} needs code, a non-empty string of TypeScript")
    return code


def read_tool_file(
    files: Mapping[str, str], name: str, start_line: int | None = None, end_line: int | None = None
) -> str:
    """The file `name` (or lines `start_line`..`end_line`, 1-based, inclusive) under a one-line header."""
    lines = files[name].splitlines()
    first = 1 if start_line is None else start_line
    last = len(lines) if end_line is None else min(end_line, len(lines))
    if first < 1 or (lines and first > len(lines)):
        raise MetaToolError(f"startLine {first!r} is outside {name!r}, which has {len(lines)} lines")
    if last < first:
        raise MetaToolError(f"endLine {end_line!r} is before startLine {first!r}")
    header = f"// {name}, lines {first}-{last} of {len(lines)}"
    return "\n".join([header, *lines[first - 1 : last]])


def _detail_argument(arguments: Mapping[str, Any], default: Detail) -> Detail:
    value = arguments.get("detail", default)
    for detail in DETAILS:
        if value == detail:
            return detail
    raise MetaToolError(f"detail must be one of {', '.join(DETAILS)}, got {value!r}")


def _whole_number(arguments: Mapping[str, Any], key: str) -> int | None:
    value = arguments.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MetaToolError(f"{key} must be a whole number, got {value!r}")
    return value
