"""The three tools a model sees in Code Mode instead of the catalog, and the two that read files.

    listToolFiles                         which `servers/<server>.d.ts` files exist, one line each
    readToolFile(fileName, startLine?, endLine?)   a file, or a line range of it
    executeToolCode(code)                 run a TypeScript program (see `executor.execute`)

Their descriptions teach the workflow: list the files, read only the ones needed, write one program
that does all the calls and returns a small result. The file functions are pure: they work on the
dict of virtual files `dts.tool_files` built for the caller's visible tools.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mcp_types as types

from .settings import CodeModeSettings

LIST_TOOL_FILES = "listToolFiles"
READ_TOOL_FILE = "readToolFile"
EXECUTE_TOOL_CODE = "executeToolCode"
META_TOOL_NAMES = frozenset({LIST_TOOL_FILES, READ_TOOL_FILE, EXECUTE_TOOL_CODE})


class MetaToolError(ValueError):
    """A meta-tool call that cannot be answered: unknown file, bad line range, missing or bad arguments."""


def meta_tools(settings: CodeModeSettings | None = None) -> list[types.Tool]:
    """The MCP definitions of the three meta-tools; descriptions state the configured limits."""
    limits = settings or CodeModeSettings()
    read_only = types.ToolAnnotations(read_only_hint=True, open_world_hint=False)
    return [
        types.Tool(
            name=LIST_TOOL_FILES,
            description=(
                "Code Mode, step 1: list the TypeScript declaration files (one per MCP server) of the tools "
                "your code can call, each with the server's global name and its methods."
            ),
            input_schema={"type": "object", "properties": {}, "additionalProperties": False},
            annotations=read_only,
        ),
        types.Tool(
            name=READ_TOOL_FILE,
            description=(
                "Code Mode, step 2: read a file from listToolFiles: each method's argument and result types "
                "with docs. Read only the servers you need; startLine/endLine (1-based) read part of a file."
            ),
            input_schema={
                "type": "object",
                "properties": {
                    "fileName": {"type": "string", "description": "e.g. servers/github.d.ts"},
                    "startLine": {"type": "integer", "minimum": 1},
                    "endLine": {"type": "integer", "minimum": 1},
                },
                "required": ["fileName"],
                "additionalProperties": False,
            },
            annotations=read_only,
        ),
        types.Tool(
            name=EXECUTE_TOOL_CODE,
            description=_execute_description(limits),
            input_schema={
                "type": "object",
                "properties": {"code": {"type": "string", "description": "TypeScript: an async function body."}},
                "required": ["code"],
                "additionalProperties": False,
            },
        ),
    ]


def _execute_description(limits: CodeModeSettings) -> str:
    return (
        "Code Mode, step 3: run ONE TypeScript program that does all the work and returns only what you need. "
        "Each server is a global (e.g. `github`); call its tools as `await github.searchRepositories({...})`. "
        "Run independent calls together with Promise.all, filter and aggregate in code, and `return` a small "
        "JSON-able value: only it, console.log output and a call summary come back. The code is the body of an "
        "async function (top-level await and return work). No network, files, modules (import/export) or "
        f"Node APIs. Limits: {limits.timeout_seconds:g} s, {limits.memory_limit_bytes // (1024 * 1024)} MB, "
        f'{limits.max_tool_calls} tool calls. A refused or failed call throws a ToolError (e.kind: "denied", '
        '"upstream", or "limit" for a result too large to hand over); catch it to carry on. Errors give '
        "line:column in your code."
    )


def list_tool_files(files: Mapping[str, str]) -> str:
    """One line per file: its name, length and the summary on its first line."""
    if not files:
        return "No tool files: no tools are available to your code."
    lines = [f"{len(files)} file{'' if len(files) == 1 else 's'}; read the ones you need with {READ_TOOL_FILE}:"]
    for name in sorted(files):
        text = files[name]
        summary = text.split("\n", 1)[0].removeprefix("//").strip()
        lines.append(f"{name} ({len(text.splitlines())} lines): {summary}")
    return "\n".join(lines)


def read_tool_file(
    files: Mapping[str, str], file_name: str, start_line: int | None = None, end_line: int | None = None
) -> str:
    """The file (or lines `start_line`..`end_line`, 1-based, inclusive) under a one-line header."""
    name = _find(files, file_name)
    lines = files[name].splitlines()
    first = 1 if start_line is None else start_line
    last = len(lines) if end_line is None else min(end_line, len(lines))
    if first < 1 or (lines and first > len(lines)):
        raise MetaToolError(f"startLine {first!r} is outside {name!r}, which has {len(lines)} lines")
    if last < first:
        raise MetaToolError(f"endLine {end_line!r} is before startLine {first!r}")
    header = f"// {name}, lines {first}-{last} of {len(lines)}"
    return "\n".join([header, *lines[first - 1 : last]])


def answer_file_tool(name: str, arguments: Mapping[str, Any] | None, files: Mapping[str, str]) -> str:
    """Answer a `listToolFiles` or `readToolFile` call, checking the arguments a client sent."""
    arguments = arguments or {}
    if name == LIST_TOOL_FILES:
        return list_tool_files(files)
    if name != READ_TOOL_FILE:
        raise MetaToolError(f"{name!r} is not {LIST_TOOL_FILES!r} or {READ_TOOL_FILE!r}")
    file_name = arguments.get("fileName")
    if not isinstance(file_name, str) or not file_name:
        raise MetaToolError(f"{READ_TOOL_FILE} needs fileName, a string such as 'servers/github.d.ts'")
    return read_tool_file(files, file_name, _line(arguments, "startLine"), _line(arguments, "endLine"))


def code_argument(arguments: Mapping[str, Any] | None) -> str:
    """The `code` of an `executeToolCode` call; `MetaToolError` when it is missing or not a string."""
    code = (arguments or {}).get("code")
    if not isinstance(code, str) or not code.strip():
        raise MetaToolError(f"{EXECUTE_TOOL_CODE} needs code, a non-empty string of TypeScript")
    return code


def _line(arguments: Mapping[str, Any], key: str) -> int | None:
    value = arguments.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MetaToolError(f"{key} must be a whole number, got {value!r}")
    return value


def _find(files: Mapping[str, str], file_name: str) -> str:
    """Exact name first; `github`, `github.d.ts` and `servers/github` are accepted too."""
    stem = file_name.strip().removeprefix("servers/").removesuffix(".d.ts")
    for candidate in (file_name, f"servers/{stem}.d.ts"):
        if candidate in files:
            return candidate
    available = ", ".join(sorted(files)) or "none"
    raise MetaToolError(f"unknown file {file_name!r}; available: {available}")
