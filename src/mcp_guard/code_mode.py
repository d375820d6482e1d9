"""Code Mode as the gateway offers it: the meta-tools answered over the caller's visible tools, and every call a
program makes sent through the one pipeline at the moment it is made (visibility, roles, filters, rate limits,
budget, audit with the execution as parent). The engine is `codemode/`; programs run in its worker processes.

`CodeModeService` (one per gateway, `gateway.code_mode_service`) owns what outlives a request: the worker pool
(started on the first execution, closed with the gateway's lifespan) and the discovery index (built once per
catalog change, in a worker thread).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import mcp_types as types

from .code_mode_items import gateway_operation
from .codemode import (
    CLASSIC_SEARCH_TOOL,
    EXECUTE_TOOL_CODE,
    LIST_TOOL_FILES,
    META_TOOL_NAMES,
    READ_TOOL_FILE,
    CodeModeSettings,
    MetaToolError,
    code_argument,
    read_request,
    search_request,
)
from .errors import BadRequest, GatewayError, ToolNotFound
from .host import AutoRule, GatewayHost
from .listing import listing_for
from .names import ToolRef
from .state import RequestState

if TYPE_CHECKING:
    from .catalog import CatalogEntry
    from .codemode import ToolOutcome
    from .codemode.discovery import ToolIndex
    from .codemode.pool import WorkerPool


class CodeModeHost(GatewayHost, Protocol):
    """The gateway with its Code Mode service (named here, not in `host`: the router reaches Code Mode)."""

    code_mode_service: CodeModeService


def is_meta_tool(name: str) -> bool:
    return name in META_TOOL_NAMES or name == CLASSIC_SEARCH_TOOL


def _let_the_loop_run() -> None:
    """Between slices of an index build (always in a thread): sleeping releases the GIL, so the event loop,
    if it waits for it, runs at once instead of after the 5 ms switch interval. A change of one server's
    200 tools (of 10,000) pauses ~5 times; the first build of 10,000 ~200 times, ~50 ms added to it (more
    on a loaded machine) for the first discovery request, which waits in a thread, not on the loop
    (`bench/catalog_scale.py`)."""
    time.sleep(0.0002)


logger = logging.getLogger(__name__)
_UPDATER = "mcp-guard-code-mode-index"
_UPDATER_IDLE_SECONDS = 60.0  # the index updater's thread ends after this long without a catalog change


class CodeModeService:
    """The worker pool and the discovery index of one gateway."""

    def __init__(self, gateway: GatewayHost) -> None:
        self.gateway = gateway
        self._pool: WorkerPool | None = None
        self._index: tuple[int, ToolIndex] | None = None
        self._index_lock = threading.Lock()
        self._stale = threading.Event()  # the catalog changed since the updater last looked
        self._updater: threading.Thread | None = None
        self._updater_lock = threading.Lock()
        self._settings: dict[tuple[tuple[str, float], ...], CodeModeSettings] = {}
        gateway.catalog.on_change(self._catalog_changed)

    @property
    def pool(self) -> WorkerPool:
        if self._pool is None:
            from .codemode.pool import WorkerPool

            self._pool = WorkerPool.from_settings(self.gateway.config.code_mode)
        return self._pool

    def settings_for(self, state: RequestState) -> CodeModeSettings:
        """The gateway's limits with the caller's role, team and key overrides applied."""
        overrides = state.principal.code_mode_limits if state.principal is not None else ()
        settings = self._settings.get(overrides)
        if settings is None:
            settings = self._settings[overrides] = self.gateway.config.code_mode.limits_for(overrides)
        return settings

    async def index(self) -> ToolIndex:
        """The discovery index of the current catalog, built off the event loop when the catalog changed."""
        current = self._index
        if current is not None and current[0] == self.gateway.catalog.version:
            return current[1]
        return await asyncio.to_thread(self._build_index)

    def _build_index(self) -> ToolIndex:
        from .codemode.discovery import ToolIndex

        _let_the_loop_run()  # started by a change the loop is still making: let it finish first
        with self._index_lock:  # one build per catalog version, whoever asks first
            version = self.gateway.catalog.version
            if self._index is not None and self._index[0] == version:
                return self._index[1]
            previous = self._index[1] if self._index is not None else None
            index = ToolIndex(self.gateway.catalog.by_server(), previous, pause=_let_the_loop_run)
            self._index = (version, index)
            return index

    def _catalog_changed(self, server: str | None = None) -> None:
        """Once discovery has been used, bring its index up to date as soon as the catalog changes, in the
        background: one thread, woken by an event. Starting a thread per change made the loop wait for it
        to be scheduled (`Thread.start` returns once the thread runs: up to 16 ms on a loaded 2-core VM,
        against 0.07 ms for an event)."""
        if self._index is None:
            return
        with self._updater_lock:
            self._stale.set()
            if self._updater is None:
                self._updater = threading.Thread(target=self._keep_index_current, name=_UPDATER, daemon=True)
                self._updater.start()

    def _keep_index_current(self) -> None:
        """The index updater's thread: rebuilds after each change; ends after a while without one."""
        while True:
            if not self._stale.wait(_UPDATER_IDLE_SECONDS):
                with self._updater_lock:
                    if not self._stale.is_set():  # nothing came in meanwhile: the next change starts another
                        self._updater = None
                        return
                continue
            self._stale.clear()
            try:
                self._build_index()
            except Exception:  # the next request builds it again (and answers with the error)
                logger.exception("Code Mode: the discovery index could not be brought up to date")

    def close(self) -> None:
        """Kill the workers (a later lifespan starts new ones on first use)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


async def call_meta_tool(
    gateway: CodeModeHost,
    state: RequestState,
    name: str,
    arguments: Any,
    *,
    entry_point: str,
    auto_only: AutoRule | None = None,
    parent_id: str | None = None,
) -> types.CallToolResult:
    """Answer a Code Mode meta-tool or the classic `search_tools` for this caller.

    `auto_only` (agent mode): an execution may only call tools it accepts; any other call fails the whole
    execution with "needs approval", decided when the call is made. `parent_id` links the execution's audit
    record to what asked for it (an agent-mode model turn)."""
    listing = listing_for(gateway, state)
    offered = listing.search if name == CLASSIC_SEARCH_TOOL else bool(listing.code)
    if not offered:
        raise ToolNotFound(f"Unknown tool {name!r}: it is not offered to this request", extra={"tool": name})
    if not isinstance(arguments, dict | None):
        raise BadRequest(f"Arguments for {name!r} must be a JSON object")
    service = gateway.code_mode_service
    try:
        if name == EXECUTE_TOOL_CODE:
            code = code_argument(arguments)
        else:
            index = await service.index()
            # Rendering a server's declarations takes milliseconds: never on the event loop.
            return _text(await asyncio.to_thread(_discover, index, name, arguments, listing.code, listing.searchable))
    except MetaToolError as exc:
        raise BadRequest(str(exc)) from None
    return await _execute(gateway, state, code, listing.code, entry_point, auto_only, parent_id)


def _discover(
    index: ToolIndex,
    name: str,
    arguments: Any,
    code: Sequence[CatalogEntry],
    searchable: Sequence[CatalogEntry],
) -> str:
    if name == LIST_TOOL_FILES:
        return index.list_files(code)
    if name == READ_TOOL_FILE:
        return index.read_file(code, read_request(arguments))
    if name == CLASSIC_SEARCH_TOOL:
        return index.search_classic(searchable, search_request(arguments, CLASSIC_SEARCH_TOOL))
    return index.search(code, search_request(arguments))


async def _execute(
    gateway: CodeModeHost,
    state: RequestState,
    code: str,
    entries: tuple[CatalogEntry, ...],
    entry_point: str,
    auto_only: AutoRule | None,
    parent_id: str | None,
) -> types.CallToolResult:
    from . import codemode  # the gateway side of the engine: pool, frames, bridge (V8 runs in the workers)

    service = gateway.code_mode_service
    settings = service.settings_for(state)
    execution_id = uuid.uuid4().hex
    started = time.perf_counter()
    servers: dict[str, list[str]] = {}
    for entry in entries:
        servers.setdefault(entry.ref.server, []).append(entry.ref.tool)

    async def call_tool(server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        if server == codemode.GATEWAY_SERVER:  # resources.* / prompts.*: what the caller may read, governed
            return await read_item(tool, arguments)
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
        return codemode.ToolOutcome.from_result(outcome.result, settings.max_tool_result_bytes)

    async def read_item(operation: str, arguments: dict[str, Any]) -> ToolOutcome:
        try:
            return codemode.ToolOutcome(await gateway_operation(gateway, state, operation, arguments, execution_id))
        except GatewayError as exc:
            raise codemode.ToolCallError.from_gateway_error(exc) from None

    result = await codemode.execute(code, servers=servers, call_tool=call_tool, settings=settings, pool=service.pool)
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
