"""Discovery over one catalog snapshot: the server list, the declaration files at three detail levels, and
ranked search, for Code Mode's meta-tools and the classic `search_tools` tool.

A `ToolIndex` is built once per catalog change (the gateway builds it in a worker thread, so no request
waits on the event loop for it): the search index over every tool, and each tool's one-line summary.
Declaration files are rendered per server on first read and kept for the snapshot's lifetime, keyed by
the visible tool set they were rendered for, so a file shows only what its reader may see and is built
once per catalog change and visible set.

Every answer is given for a caller's *visible* entries (the gateway's one visibility rule decides which):
a tool the caller may not see is neither listed, nor declared, nor found.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from .bindings import binding_names
from .dts import file_name, find_file, server_file
from .meta_tools import READ_TOOL_FILE, SEARCH_TOOLS, MetaToolError, ReadRequest, SearchRequest, read_tool_file
from .search import Document, SearchIndex, name_parts, words
from .signatures import first_sentence, signature

if TYPE_CHECKING:
    from ..catalog import CatalogEntry

GLOBALS_FILE = "globals.d.ts"
_FILE_CACHE_SIZE = 2048
_SUMMARY_TOPICS = 5
_VERBS = frozenset(
    "get list create update delete remove add set search find read write fetch run query send post put move "
    "copy close open edit start stop cancel upload download describe show check is has make insert execute".split()
)


class ToolIndex:
    """Search and declarations over one snapshot of the catalog's entries."""

    def __init__(
        self,
        entries: Sequence[CatalogEntry] | Mapping[str, Sequence[CatalogEntry]],
        previous: ToolIndex | None = None,
        pause: Callable[[], None] | None = None,
    ) -> None:
        """`entries`: every entry, or each server's (`Catalog.by_server()`, which saves grouping them).
        `previous`: the index of the catalog before a change; the servers whose entries did not change (the
        same objects) keep their search rows, so only the changed servers' documents are worked out and
        indexed (`SearchIndex`). `pause`: called between slices of the build (a thread lets the loop run)."""
        servers = entries if isinstance(entries, Mapping) else _by_server(entries)
        self._servers = {server: tuple(group) for server, group in servers.items()}
        known = previous._servers if previous is not None else {}
        kept = [s for s, group in self._servers.items() if known.get(s) == group]  # compared by identity, in C
        documents = {s: (_document(e).columns() for e in group) for s, group in self._servers.items()}
        before = previous._search if previous is not None else None
        self._search: SearchIndex = SearchIndex(documents, pause, previous=before, kept=kept)
        self._files: dict[tuple[str, str, tuple[str, ...]], str] = {}
        self._lock = threading.Lock()

    # --- listToolFiles ------------------------------------------------------------------------
    def list_files(self, visible: Sequence[CatalogEntry]) -> str:
        servers = _by_server(visible)
        if not servers:
            return "No tool files: no tools are available to your code."
        bindings = server_bindings(tuple(servers))
        lines = [
            f"{len(servers)} server{'' if len(servers) == 1 else 's'}, {len(visible)} tools. Find tools with "
            f"{SEARCH_TOOLS}(query), or read a server's file with {READ_TOOL_FILE} (detail: names, signatures, full). "
            f"{GLOBALS_FILE} declares ToolError, console and setTimeout, and `resources` / `prompts` for the "
            "servers' resources and prompts."
        ]
        for server in sorted(servers):
            group = servers[server]
            count = f"{len(group)} tool{'' if len(group) == 1 else 's'}"
            lines.append(f"{file_name(server)}: `{bindings[server]}`, {count}: {_topics(group)}")
        return "\n".join(lines)

    # --- readToolFile -------------------------------------------------------------------------
    def read_file(self, visible: Sequence[CatalogEntry], request: ReadRequest) -> str:
        if request.file_name.strip().removeprefix("./") in (GLOBALS_FILE, "globals"):
            return read_tool_file(
                {GLOBALS_FILE: globals_declarations()}, GLOBALS_FILE, request.start_line, request.end_line
            )
        servers = _by_server(visible)
        files = {file_name(s): s for s in servers}
        name = find_file(files, request.file_name)
        server = files[name]
        binding = server_bindings(tuple(servers))[server]
        group = servers[server]
        methods = binding_names((e.ref.tool for e in group), kind="tool")
        chosen = _chosen(group, methods, request.methods)
        if request.detail == "full":
            text = self._file(server, binding, group, methods, chosen)
            return read_tool_file({name: text}, name, request.start_line, request.end_line)
        lines = [f"// {name} ({request.detail}): {len(chosen)} of {len(group)} methods of `{binding}`"]
        for entry in sorted(chosen, key=lambda e: methods[e.ref.tool]):
            lines.append(_line(entry, binding, methods[entry.ref.tool], request.detail))
        lines.append(
            f'// for types and docs: {READ_TOOL_FILE}({{ fileName: "{name}", detail: "full", methods: [...] }})'
        )
        return "\n".join(lines)

    # --- searchTools / search_tools ---------------------------------------------------------
    def search(self, visible: Sequence[CatalogEntry], request: SearchRequest) -> str:
        """Code Mode: the best matches as methods of the server globals, at the requested detail."""
        hits = self.ranked(visible, request.query, request.limit)
        if not hits:
            return f"No tool matches {request.query!r}. Try other words, or {READ_TOOL_FILE} a server's names."
        servers = _by_server(visible)
        bindings = server_bindings(tuple(servers))
        methods = {
            s: binding_names((e.ref.tool for e in servers[s]), kind="tool") for s in {h.ref.server for h in hits}
        }
        head = (
            f"{len(hits)} best match{'' if len(hits) == 1 else 'es'} for {request.query!r} (of {len(visible)} tools):"
        )
        if request.detail == "full":
            parts = [head]
            for server in dict.fromkeys(h.ref.server for h in hits):
                chosen = [h for h in hits if h.ref.server == server]
                parts.append(self._file(server, bindings[server], servers[server], methods[server], chosen))
            return "\n".join(parts)
        lines = [head]
        for number, hit in enumerate(hits, 1):
            binding, method = bindings[hit.ref.server], methods[hit.ref.server][hit.ref.tool]
            lines.append(f"{number}. {_line(hit, binding, method, request.detail)}")
        return "\n".join(lines)

    def search_classic(self, visible: Sequence[CatalogEntry], request: SearchRequest) -> str:
        """Classic clients: the best matches as tool definitions, callable by their `name` with tools/call."""
        hits = self.ranked(visible, request.query, request.limit)
        tools = [
            {"name": hit.name, "description": hit.tool.description or hit.tool.title or "",
             "inputSchema": hit.tool.input_schema or {"type": "object"}}
            for hit in hits
        ]  # fmt: skip
        return json.dumps({"query": request.query, "tools": tools}, ensure_ascii=False, separators=(",", ":"))

    def ranked(self, visible: Sequence[CatalogEntry], query: str, limit: int) -> list[CatalogEntry]:
        """The `limit` best visible matches for `query`. The best few dozen are asked first; all of them only
        when too few of those are visible to the caller."""
        allowed = {e.name for e in visible}  # exposed names: unique, and cheaper to hash than references
        for window in (max(limit * 8, 50), None):
            found = self._search.ranked(query, window)
            hits = [e for e in (self._servers[s][n] for s, n in found) if e.name in allowed][:limit]
            if len(hits) >= limit or window is None or len(found) < window:
                return hits
        return []  # pragma: no cover - the loop always returns

    def close(self) -> None:
        self._search.close()

    def _file(
        self,
        server: str,
        binding: str,
        group: Sequence[CatalogEntry],
        methods: Mapping[str, str],
        chosen: Sequence[CatalogEntry],
    ) -> str:
        """The `.d.ts` text of `chosen` (of the visible `group`), rendered once per snapshot and tool set."""
        key = (server, binding, tuple(sorted(e.ref.tool for e in chosen)))
        with self._lock:
            text = self._files.get(key)
        if text is None:
            text = server_file(server, binding, chosen, methods, total=len(group))
            with self._lock:
                if len(self._files) >= _FILE_CACHE_SIZE:
                    self._files.clear()
                self._files[key] = text
        return text


@lru_cache(maxsize=64)
def server_bindings(servers: tuple[str, ...]) -> dict[str, str]:
    """`binding_names` of a visible server set; the same sets come back request after request."""
    return binding_names(servers, kind="server")


@lru_cache(maxsize=1)
def globals_declarations() -> str:
    """`globals.d.ts`: the sandbox's own globals (ToolError, console, setTimeout), for the model and `tsc`."""
    return resources.files(__package__).joinpath(GLOBALS_FILE).read_text(encoding="utf-8")


def _document(entry: CatalogEntry) -> Document:
    schema = entry.tool.input_schema or {}
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    parameters = [" ".join(words(key)) for key in properties or {}]  # their descriptions only add noise
    description = entry.tool.description or entry.tool.title or ""
    return Document(entry.ref.tool, entry.ref.server, description, " ".join(parameters))


def _by_server(entries: Sequence[CatalogEntry]) -> dict[str, list[CatalogEntry]]:
    servers: dict[str, list[CatalogEntry]] = {}
    for entry in entries:
        servers.setdefault(entry.ref.server, []).append(entry)
    return servers


def _chosen(
    group: Sequence[CatalogEntry], methods: Mapping[str, str], wanted: Sequence[str] | None
) -> list[CatalogEntry]:
    if not wanted:
        return list(group)
    names = set(wanted)
    chosen = [e for e in group if methods[e.ref.tool] in names or e.ref.tool in names]
    unknown = names - {methods[e.ref.tool] for e in chosen} - {e.ref.tool for e in chosen}
    if unknown:
        available = ", ".join(sorted(methods.values()))
        raise MetaToolError(f"unknown method(s) {', '.join(sorted(unknown))}; available: {available}")
    return chosen


def _line(entry: CatalogEntry, binding: str, method: str, detail: str) -> str:
    summary = first_sentence(entry.tool.description or entry.tool.title)
    if detail == "names":
        return f"{binding}.{method} — {summary}"
    text = signature(binding, method, entry.tool.input_schema, entry.tool.output_schema)
    return f"{text} — {summary}"


@lru_cache(maxsize=4096)
def _topic(tool: str) -> str:
    parts = [w.lower() for w in name_parts(tool) if not w.isdigit()]
    parts = parts[1:] if len(parts) > 1 and parts[0] in _VERBS else parts
    return _singular(" ".join(parts[-2:])) if parts else tool


def _singular(text: str) -> str:
    if text.endswith("ies"):
        return text[:-3] + "y"
    return text[:-1] if text.endswith("s") and not text.endswith("ss") else text


def _topics(group: Sequence[CatalogEntry]) -> str:
    """What a server's tools are about, from their names: `issue, pull request, repository, ...`."""
    counts = Counter(_topic(e.ref.tool) for e in group)
    top = [topic for topic, _ in counts.most_common(_SUMMARY_TOPICS)]
    return ", ".join(top) + (", ..." if len(counts) > _SUMMARY_TOPICS else "")
