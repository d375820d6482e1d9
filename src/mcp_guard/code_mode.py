"""Code Mode as the gateway offers it: the three meta-tools answered over the caller's visible tools, and
every call a program makes sent through the one pipeline at the moment it is made (visibility, roles,
filters, rate limits, budget, audit with the execution as parent). The engine is `codemode/`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import mcp_types as types

from . import codemode  # its engine (executor, declarations) loads when a program first needs it
from .codemode import EXECUTE_TOOL_CODE, META_TOOL_NAMES, MetaToolError, answer_file_tool, code_argument
from .errors import BadRequest, GatewayError, ToolNotFound
from .listing import listing_for
from .names import ToolRef
from .state import RequestState

if TYPE_CHECKING:
    from .catalog import CatalogEntry
    from .gateway import Gateway

AutoRule = Callable[[ToolRef], bool]


def is_meta_tool(name: str) -> bool:
    return name in META_TOOL_NAMES


async def call_meta_tool(
    gateway: Gateway,
    state: RequestState,
    name: str,
    arguments: Any,
    *,
    entry_point: str,
    auto_only: AutoRule | None = None,
    parent_id: str | None = None,
) -> types.CallToolResult:
    """Answer `listToolFiles`, `readToolFile` or `executeToolCode` for this caller.

    `auto_only` (agent mode): an execution may only call tools it accepts; any other call fails the whole
    execution with "needs approval", decided when the call is made. `parent_id` links the execution's audit
    record to what asked for it (an agent-mode model turn)."""
    listing = listing_for(gateway, state)
    if not listing.code:
        raise ToolNotFound(f"Unknown tool {name!r}: Code Mode is not on for this request", extra={"tool": name})
    if not isinstance(arguments, dict | None):
        raise BadRequest(f"Arguments for {name!r} must be a JSON object")
    try:
        if name != EXECUTE_TOOL_CODE:
            return _text(answer_file_tool(name, arguments, codemode.tool_files(listing.code)))
        code = code_argument(arguments)
    except MetaToolError as exc:
        raise BadRequest(str(exc)) from None
    return await _execute(gateway, state, code, listing.code, entry_point, auto_only, parent_id)


async def _execute(
    gateway: Gateway,
    state: RequestState,
    code: str,
    entries: tuple[CatalogEntry, ...],
    entry_point: str,
    auto_only: AutoRule | None,
    parent_id: str | None,
) -> types.CallToolResult:
    execution_id = uuid.uuid4().hex
    started = time.perf_counter()
    servers: dict[str, list[str]] = {}
    for entry in entries:
        servers.setdefault(entry.ref.server, []).append(entry.ref.tool)

    async def call_tool(server: str, tool: str, arguments: dict[str, Any]) -> codemode.ToolOutcome:
        ref = ToolRef(server, tool)
        if auto_only is not None and not auto_only(ref):
            needs_approval = f"Tool '{ref}' needs approval: it is not auto-executable"
            raise codemode.ToolCallError("denied", needs_approval, fatal=True)
        try:
            outcome = await gateway.pipeline.call(
                state, str(ref), arguments, entry_point="code", mode="code", parent_id=execution_id
            )
        except GatewayError as exc:
            raise codemode.ToolCallError.from_gateway_error(exc) from None
        return codemode.ToolOutcome.from_result(outcome.result)

    result = await codemode.execute(code, servers=servers, call_tool=call_tool, settings=gateway.config.code_mode)
    error = None if result.ok or result.error is None else f"{result.error.kind}: {result.error.message}"
    await gateway.pipeline.record_execution(
        state, execution_id, {"code": code}, error=error, started=started, entry_point=entry_point, parent_id=parent_id
    )
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=codemode.format_for_model(result))],
        structured_content=result.to_dict(),
        is_error=not result.ok,
    )


def _text(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)])
