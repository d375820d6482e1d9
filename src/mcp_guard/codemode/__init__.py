"""Code Mode: a model writes one TypeScript program that calls many tools; only its result comes back.

Everything here is self-contained; the gateway plugs it in at three points and enforces nothing twice.
Programs run in worker processes (`pool.py`, `worker.py`): V8 and the TypeScript parser never load in
the process that imports this package.

1. **Which tools.** Take the catalog entries the caller may see (the one visibility rule). A `ToolIndex`
   over all the catalog's entries (built once per catalog change) answers for any visible subset:

       index = ToolIndex(catalog_entries)
       index.list_files(visible); index.read_file(visible, read_request(arguments))
       index.search(visible, search_request(arguments)); index.search_classic(visible, ...)
       servers = {s: [e.ref.tool for e in group] ...}    # the same visible entries: server → tool names

   Pass the same visible set to both: server and method names (`bindings.binding_names`) depend on it.

2. **What the model sees.** `meta_tools(settings)` gives the four MCP `Tool` definitions to list instead
   of those servers' tools (`classic_search_tool()` the `search_tools` of classic clients); bad arguments
   raise `MetaToolError` (→ an `is_error` result). `executeToolCode` is answered with

       result = await execute(code_argument(arguments), servers=servers, call_tool=call, settings=settings,
                              pool=pool)
       text = format_for_model(result)       # the tool result's text; result.to_dict() for structured use

3. **Every inner call.** `call` is `async (server, tool, arguments: dict) -> ToolOutcome`, invoked at the
   moment the program makes the call. It should run `Pipeline.call(state, f"{server}/{tool}", arguments,
   entry_point="code", mode="code", parent_id=<execution id>)` and return
   `ToolOutcome.from_result(outcome.result, settings.max_tool_result_bytes)`; on `GatewayError` raise
   `ToolCallError.from_gateway_error(exc)` (4xx → kind "denied", 5xx → "upstream"; `fatal=True` stops the
   whole execution, e.g. agent mode's "needs approval"). An `is_error` result is thrown in the program as a
   ToolError (kind "upstream"). Any other exception is logged and shows up only as "internal gateway error".

Semantics worth knowing: calls the program makes together (`Promise.all`) run concurrently; a call
still queued when the program returns is never started, one still running is cancelled (and shows in
`result.calls` as failed: cancelled); from the 51st call on (by default) each call throws a catchable
ToolError of kind "limit" and reaches nothing; a return value whose JSON exceeds `max_result_bytes`
comes back as a string cut at the limit with a marker, and console output beyond `max_log_bytes` is
dropped with a marker line.

Public API:

    execute(code, *, servers, call_tool, settings=None, pool=None) -> ExecutionResult   (async; never
        raises for program failures: ExecutionResult.ok / .value / .logs / .calls / .duration_ms / .error)
    ExecutionError(kind, message, line, column, hint); kind in syntax | unsupported-typescript | runtime |
        timeout | memory | limit | denied | upstream; line/column 1-based in the submitted TypeScript
    format_for_model(result) -> str
    CodeModeSettings: the per-run limits (`CodeModeLimits`) and the pool's settings; `.limits_for(overrides)`
    WorkerPool(size=, runs_per_worker=, nice=), `.from_settings(settings)`, `.close()`
    GATEWAY_SERVER: the `server` of a program's `resources.*` / `prompts.*` calls (the operation is the `tool`)
    ToolCaller, ToolOutcome(value, error).from_result(result, max_bytes), ToolCallError(kind, message,
        fatal=, reason=, limit=).from_gateway_error(exc), CallRecord
    ToolIndex(entries), tool_files(entries) -> dict[str, str], file_name(server) -> str
    meta_tools(settings) -> list[Tool], classic_search_tool(), read_request(arguments),
        search_request(arguments), read_tool_file(files, name, start, end), code_argument(arguments),
        MetaToolError, LIST_TOOL_FILES, SEARCH_TOOLS, READ_TOOL_FILE, EXECUTE_TOOL_CODE, META_TOOL_NAMES,
        CLASSIC_SEARCH_TOOL
    binding_names(names, kind=) -> dict[str, str]     (server/tool name → JS identifier)
    CodeModeUnavailable: raised by `execute` when the `codemode` extra (mini-racer, tree-sitter) is missing

Importing this package needs neither V8 nor the parser. The first execution starts the worker pool (a
worker is ready in about half a second); later ones take a few milliseconds.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .meta_tools import (
    CLASSIC_SEARCH_TOOL,
    EXECUTE_TOOL_CODE,
    LIST_TOOL_FILES,
    META_TOOL_NAMES,
    READ_TOOL_FILE,
    SEARCH_TOOLS,
    MetaToolError,
    ReadRequest,
    SearchRequest,
    classic_search_tool,
    code_argument,
    meta_tools,
    read_request,
    read_tool_file,
    search_request,
)
from .settings import CodeModeSettings

if TYPE_CHECKING:
    from .bindings import binding_names
    from .calls import GATEWAY_SERVER, CallRecord, ToolCaller, ToolCallError, ToolOutcome
    from .discovery import ToolIndex
    from .dts import file_name, tool_files
    from .executor import CodeModeUnavailable, execute
    from .pool import WorkerPool
    from .result import ErrorKind, ExecutionError, ExecutionResult, format_for_model

# The rest is loaded when one of its names is first used: a gateway that never runs a program does not
# load the executor, the declaration writer or difflib (0.6 MB and ~7 ms of start-up). The meta-tools
# and the settings, which listing and configuration need, are light and loaded above (importing `meta_tools`
# first also keeps the package's `meta_tools` the function, not the submodule of the same name).
_HOME = {
    "binding_names": "bindings",
    "GATEWAY_SERVER": "calls",
    "CallRecord": "calls",
    "ToolCaller": "calls",
    "ToolCallError": "calls",
    "ToolOutcome": "calls",
    "ToolIndex": "discovery",
    "WorkerPool": "pool",
    "file_name": "dts",
    "tool_files": "dts",
    "CodeModeUnavailable": "executor",
    "execute": "executor",
    "ErrorKind": "result",
    "ExecutionError": "result",
    "ExecutionResult": "result",
    "format_for_model": "result",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later uses find it without coming back here
    return value


__all__ = [
    "CLASSIC_SEARCH_TOOL",
    "EXECUTE_TOOL_CODE",
    "GATEWAY_SERVER",
    "LIST_TOOL_FILES",
    "META_TOOL_NAMES",
    "READ_TOOL_FILE",
    "SEARCH_TOOLS",
    "CallRecord",
    "CodeModeSettings",
    "CodeModeUnavailable",
    "ErrorKind",
    "ExecutionError",
    "ExecutionResult",
    "MetaToolError",
    "ReadRequest",
    "SearchRequest",
    "ToolCallError",
    "ToolCaller",
    "ToolIndex",
    "ToolOutcome",
    "WorkerPool",
    "binding_names",
    "classic_search_tool",
    "code_argument",
    "execute",
    "file_name",
    "format_for_model",
    "meta_tools",
    "read_request",
    "read_tool_file",
    "search_request",
    "tool_files",
]
