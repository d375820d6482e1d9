"""The aggregated catalog: every upstream's tools under `server/tool` references and exposed names.

Static visibility lives here: a tool outside its server's `tools` allowlist, or matching the global
`blocked_tools`, never enters the catalog, so nothing downstream can list or call it. Per-request visibility
(principal, header filter) is applied on top by `RequestState.may_see`.

Everything a listing needs (the renamed `Tool`, the OpenAI function definition) is built once per catalog
change, not per request.
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

    __slots__ = ("_check", "_validator", "exposed", "name", "openai", "ref", "tool")

    def __init__(self, ref: ToolRef, name: str, tool: types.Tool) -> None:
        self.ref = ref
        self.name = name
        self.tool = tool
        self.exposed = tool.model_copy(update={"name": name})
        self.openai = openai_function(self.exposed, fallback_description=str(ref))
        self._validator: Any = None
        self._check: Callable[[dict[str, Any]], bool] | None = _UNCOMPILED

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


class Catalog:
    """All tools of all upstreams, rebuilt whenever one upstream's tool list changes."""

    def __init__(self, config: GatewayConfig) -> None:
        self._offered: dict[str, Sequence[types.Tool]] = {}  # each server's tools as it lists them
        self._tools: dict[str, Sequence[types.Tool]] = {}  # ... of which these are statically visible
        self._entries: tuple[CatalogEntry, ...] = ()  # every server's, ordered by reference
        self._per_server: dict[str, tuple[CatalogEntry, ...]] = {}
        self._by_ref: dict[ToolRef, CatalogEntry] = {}
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
            rebuilt, per_server, by_ref = set(self._tools), {}, {}
        else:
            refs = (ToolRef(server, t.name) for server in changed for t in self._tools.get(server, ()))
            names, renamed = self._names.replacing(changed, refs)
            rebuilt, per_server, by_ref = {*changed, *renamed}, dict(self._per_server), dict(self._by_ref)
        for server in rebuilt:
            for entry in per_server.pop(server, ()):
                del by_ref[entry.ref]
            if server in self._tools:
                per_server[server] = entries = self._server_entries(server, names)
                by_ref.update((entry.ref, entry) for entry in entries)
        self._per_server = {server: per_server[server] for server in sorted(per_server)}
        self._entries = tuple(chain.from_iterable(self._per_server.values()))
        self._names, self._by_ref = names, by_ref
        self.version += 1

    def _server_entries(self, server: str, names: NameTable) -> tuple[CatalogEntry, ...]:
        tools = {t.name: t for t in self._tools[server]}  # a name listed twice: the last one counts
        refs = (ToolRef(server, name) for name in sorted(tools))
        return tuple(CatalogEntry(ref, names.name_of(ref), tools[ref.tool]) for ref in refs)

    def entries(self) -> tuple[CatalogEntry, ...]:
        return self._entries

    def by_server(self) -> Mapping[str, tuple[CatalogEntry, ...]]:
        """Each server's entries, servers in order; a server's tuple is replaced, never changed, when its
        entries change (what a caller may see there can be remembered by that tuple)."""
        return self._per_server

    def resolve(self, name: str) -> CatalogEntry | None:
        """Find a tool by exposed name (`server__tool`), by reference (`server/tool`), or by Bifrost's
        `server-tool` / `server_tool` when only one tool reads that way (see `names.py`)."""
        ref = self._names.ref_of(name)
        return self._by_ref.get(ref) if ref is not None else None

    def bifrost_readings(self, name: str) -> Sequence[ToolRef]:
        """The tools a Bifrost-style name could mean (more than one: it is ambiguous)."""
        return self._names.bifrost_readings(name)

    def get(self, ref: ToolRef) -> CatalogEntry | None:
        return self._by_ref.get(ref)

    def servers(self) -> list[str]:
        return sorted(self._tools)

    def matching(self, pattern: str) -> list[CatalogEntry]:
        compiled = ToolPattern.parse(pattern)
        return [e for e in self._entries if compiled.matches(e.ref)]
