"""The aggregated catalog: every upstream's tools under `server/tool` references and exposed names.

Static visibility lives here: a tool outside its server's `tools` allowlist, or matching the global
`blocked_tools`, never enters the catalog, so nothing downstream can list or call it. Per-request visibility
(principal, header filter) is applied on top by `RequestState.may_see`.

Everything a listing needs (the renamed `Tool`, the OpenAI function definition) is built once per entry,
when it is first listed, not per request. A change replaces only the changed server's entries and its map
(the maps are per server) and renames only the tools that came or went (`NameTable.replacing`): at 10,000
tools a change runs on the event loop while other sessions wait (`bench/catalog_scale.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any

import mcp_types as types

from .errors import BadRequest
from .fast_schema import compile_check
from .names import NameTable, Ref, ToolRef
from .patterns import PatternSet, ToolPattern

if TYPE_CHECKING:
    from .config import GatewayConfig, ServerConfig


class CatalogEntry:
    """One tool as the gateway exposes it."""

    __slots__ = ("_check", "_exposed", "_openai", "_validator", "name", "ref", "tool")

    def __init__(self, ref: ToolRef, name: str, tool: types.Tool) -> None:
        self.ref = ref
        self.name = name
        self.tool = tool
        # Made when first listed: a change builds only the entries of its server, and many are never listed
        # in both forms. Fewer objects per change also means fewer garbage collections over the catalog.
        self._exposed: types.Tool | None = None
        self._openai: dict[str, Any] | None = None
        self._validator: Any = None
        self._check: Callable[[dict[str, Any]], bool] | None = _UNCOMPILED

    @property
    def exposed(self) -> types.Tool:
        """The upstream's tool under its exposed name (what `tools/list` shows)."""
        if self._exposed is None:  # two threads may both build it: the same value either way
            self._exposed = self.tool.model_copy(update={"name": self.name})
        return self._exposed

    @property
    def openai(self) -> dict[str, Any]:
        """The OpenAI function definition (`GET /tools?format=openai`, the chat endpoint)."""
        if self._openai is None:
            self._openai = openai_function(self.exposed, fallback_description=str(self.ref))
        return self._openai

    @property
    def destructive(self) -> bool:
        """An explicit MCP `destructiveHint` on a tool that is not read-only (absent hints do not count)."""
        hints = self.tool.annotations
        if hints is None:
            return False
        return bool(hints.destructive_hint) and not hints.read_only_hint

    def validate_arguments(self, arguments: dict[str, Any]) -> None:
        """Check arguments against the tool's input schema; raise `BadRequest` naming the first problem."""
        if self._check is _UNCOMPILED:
            self._check = compile_check(self.tool.input_schema or {})
        if self._check is not None and self._check(arguments):
            return  # the precompiled check's "valid" is final (`fast_schema`); otherwise jsonschema decides
        error = next(iter(self._jsonschema().iter_errors(arguments)), None)
        if error is not None:
            where = "".join(f"[{p!r}]" for p in error.absolute_path) or "arguments"
            raise BadRequest(f"Invalid arguments for tool '{self.ref}': {where}: {error.message}")

    def _jsonschema(self) -> Any:
        """The jsonschema validator, built when first needed: a gateway whose tools all have simple schemas
        and get valid arguments never imports jsonschema (−2.9 MB idle, −33 ms on the first call)."""
        if self._validator is None:
            from jsonschema.validators import validator_for

            schema = self.tool.input_schema or {}
            self._validator = validator_for(schema)(schema)
        return self._validator


def _uncompiled(arguments: dict[str, Any]) -> bool:
    raise AssertionError("the schema check is compiled on first use")


_UNCOMPILED = _uncompiled  # `_check` before its first use (None means: this schema has no fast check)


def openai_function(tool: types.Tool, *, fallback_description: str = "") -> dict[str, Any]:
    """An MCP tool as an OpenAI function definition (Chat Completions `tools` entry)."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description or tool.title or fallback_description,
            "parameters": tool.input_schema or {"type": "object", "properties": {}},
        },
    }


class _Snapshot:
    """One version of the catalog's entries, replaced whole by a change, so a reader in any thread sees one
    version or the next. Per server: a change copies the map of servers, not the map of every tool."""

    __slots__ = ("_entries", "by_tool", "per_server")

    def __init__(
        self, per_server: dict[str, tuple[CatalogEntry, ...]], by_tool: dict[str, dict[str, CatalogEntry]]
    ) -> None:
        self.per_server = per_server  # servers in order, each one's entries ordered by tool
        self.by_tool = by_tool  # server → tool name → entry
        self._entries: tuple[CatalogEntry, ...] | None = None

    def entries(self) -> tuple[CatalogEntry, ...]:
        """Every server's entries in order, joined when first asked for (two threads may both join them)."""
        if self._entries is None:
            self._entries = tuple(chain.from_iterable(self.per_server.values()))
        return self._entries

    def get(self, ref: ToolRef) -> CatalogEntry | None:
        tools = self.by_tool.get(ref.server)
        return tools.get(ref.tool) if tools is not None else None


class Catalog:
    """All tools of all upstreams, rebuilt whenever one upstream's tool list changes."""

    def __init__(self, config: GatewayConfig) -> None:
        self._offered: dict[str, Sequence[types.Tool]] = {}  # each server's tools as it lists them
        self._tools: dict[str, Sequence[types.Tool]] = {}  # ... of which these are statically visible
        self._snapshot = _Snapshot({}, {})
        self._names = NameTable(())
        self._listeners: list[Callable[[str | None], None]] = []
        self._lock = threading.Lock()  # guards rebuilds only; readers use the immutable snapshots
        self.version = 0
        self.configure(config.servers, config.blocked_tools)

    def configure(self, servers: Iterable[ServerConfig], blocked_tools: Iterable[str]) -> None:
        """(Re)read the servers' `tools` allowlists and `blocked_tools`, and apply them to the tools held."""
        with self._lock:
            self._allowlists = {s.name: PatternSet(f"{s.name}/{t}" for t in s.tools) for s in servers if s.tools}
            self._blocked = PatternSet(blocked_tools)
            changed = self._filter_all()
        if changed:
            self._changed(None)

    def update_server(self, server: str, tools: Iterable[types.Tool]) -> None:
        """Replace `server`'s tools (called by its supervisor after every discovery)."""
        offered = list(tools)
        with self._lock:
            if self._offered.get(server) == offered:
                return  # a refresh that found the same tools changes nothing (and tells no client)
            self._offered[server] = offered
            self._tools[server] = self._visible(server)
            self._rebuild({server})
        self._changed(server)

    def remove_server(self, server: str) -> None:
        """Drop a server's tools (it was removed or disabled); in one step, like every rebuild."""
        with self._lock:
            if self._offered.pop(server, None) is None:
                return
            self._tools.pop(server, None)
            self._rebuild({server})
        self._changed(server)

    def _visible(self, server: str) -> list[types.Tool]:
        return [t for t in self._offered[server] if self._statically_visible(ToolRef(server, t.name))]

    def _filter_all(self) -> bool:
        tools: dict[str, Sequence[types.Tool]] = {server: self._visible(server) for server in self._offered}
        if tools == self._tools:
            return False
        self._tools = tools
        self._rebuild()
        return True

    def _changed(self, server: str | None) -> None:
        for listener in self._listeners:
            listener(server)

    def on_change(self, listener: Callable[[str | None], None]) -> None:
        """Call `listener` after every change, with the server whose tools changed (None: possibly several)."""
        self._listeners.append(listener)

    def blocks(self, ref: Ref) -> bool:
        """Whether `blocked_tools` hides `ref` from everyone (it may name resources and prompts too)."""
        return self._blocked.matches(ref)

    def _statically_visible(self, ref: ToolRef) -> bool:
        allow = self._allowlists.get(ref.server)
        return (allow is None or allow.matches(ref)) and not self._blocked.matches(ref)

    def _rebuild(self, changed: Collection[str] | None = None) -> None:
        """New snapshots from `_tools`. Only the servers in `changed` (None: every server) get new entries, and
        those whose exposed names a clash changed: one upstream's change costs what it holds plus copying the
        maps, not a pass over every tool (it runs on the event loop; `bench/catalog_scale.py`)."""
        if changed is None:
            names = NameTable(ToolRef(server, t.name) for server in sorted(self._tools) for t in self._tools[server])
            rebuilt, per_server, by_tool = set(self._tools), {}, {}
        else:
            refs = (ToolRef(server, t.name) for server in changed for t in self._tools.get(server, ()))
            names, renamed = self._names.replacing(changed, refs)
            old = self._snapshot
            rebuilt, per_server, by_tool = {*changed, *renamed}, dict(old.per_server), dict(old.by_tool)
        for server in rebuilt:
            per_server.pop(server, None)
            by_tool.pop(server, None)
            if server in self._tools:
                per_server[server] = entries = self._server_entries(server, names)
                by_tool[server] = {entry.ref.tool: entry for entry in entries}
        self._names = names
        self._snapshot = _Snapshot({server: per_server[server] for server in sorted(per_server)}, by_tool)
        self.version += 1

    def _server_entries(self, server: str, names: NameTable) -> tuple[CatalogEntry, ...]:
        tools = {t.name: t for t in self._tools[server]}  # a name listed twice: the last one counts
        refs = (ToolRef(server, name) for name in sorted(tools))
        return tuple(CatalogEntry(ref, names.name_of(ref), tools[ref.tool]) for ref in refs)

    def entries(self) -> tuple[CatalogEntry, ...]:
        return self._snapshot.entries()

    def by_server(self) -> Mapping[str, tuple[CatalogEntry, ...]]:
        """Each server's entries, servers in order; a server's tuple is replaced, never changed, when its
        entries change (what a caller may see there can be remembered by that tuple)."""
        return self._snapshot.per_server

    def resolve(self, name: str) -> CatalogEntry | None:
        """Find a tool by exposed name (`server__tool`), by reference (`server/tool`), or by Bifrost's
        `server-tool` / `server_tool` when only one tool reads that way (see `names.py`)."""
        ref = self._names.ref_of(name)
        return self._snapshot.get(ref) if ref is not None else None

    def bifrost_readings(self, name: str) -> Sequence[ToolRef]:
        """The tools a Bifrost-style name could mean (more than one: it is ambiguous)."""
        return self._names.bifrost_readings(name)

    def get(self, ref: ToolRef) -> CatalogEntry | None:
        return self._snapshot.get(ref)

    def servers(self) -> list[str]:
        return sorted(self._tools)

    def matching(self, pattern: str) -> list[CatalogEntry]:
        compiled = ToolPattern.parse(pattern)
        return [e for e in self.entries() if compiled.matches(e.ref)]
