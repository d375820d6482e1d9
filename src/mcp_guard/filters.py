"""Per-request tool filters from headers: they only ever narrow what a caller sees and may call.

    x-mcp-include-clients: filesystem, database     only these servers
    x-mcp-include-tools:   filesystem/read_*, database/query
    x-mcp-exclude-tools:   */delete_*

    x-mcp-include-resources: docs/file:///public/*   x-mcp-exclude-resources: */secret://*
    x-mcp-include-prompts:   git/*                    x-mcp-exclude-prompts:   */internal_*

Absent header = no filter; present but empty = nothing (of that kind). `*` and `server/*` wildcards.
`x-mcp-include-clients` narrows tools, resources and prompts alike; each of the others one kind. A resource
entry is `server/<URI glob>` or a URI as the gateway shows it (`mcp-guard://server/<URI>`); a prompt entry
`server/name` or the shown `server__name`. A tools entry without
`/` is an exposed name (`server__tool`); otherwise, for every configured server that starts it, Bifrost's
`server-tool` / `server_tool` / `server-*` form; and a tool name on any server. Bifrost's
`x-bf-mcp-include-clients` / `x-bf-mcp-include-tools` are accepted as aliases. Repeated header lines (and
an alias next to the original) are combined into one list, as HTTP (RFC 9110 §5.3) says they mean.

`HeaderFilter.unmatched` names the entries that match nothing configured; the middleware reports them.

Each distinct set of filter headers is parsed once and kept (`HeaderFilterMiddleware`), so what a client
sends here is bounded: at most `MAX_FILTER_BYTES` over all filter headers and `MAX_PATTERNS` entries. A
malformed entry (`a/`, `/b`, `/`) or headers past a bound are a 400 that names the problem, never a 500.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from .asgi import Scope, header_values
from .errors import BadRequest, GatewayError, NotAllowed
from .names import SEPARATOR, Ref, ToolRef, described, prefixed_readings, resource_ref
from .patterns import PatternSet, ToolPattern

INCLUDE, EXCLUDE = "x-mcp-include-tools", "x-mcp-exclude-tools"
INCLUDE_CLIENTS = (b"x-mcp-include-clients", b"x-bf-mcp-include-clients")
INCLUDE_TOOLS = (b"x-mcp-include-tools", b"x-bf-mcp-include-tools")
EXCLUDE_TOOLS = (b"x-mcp-exclude-tools",)
# per kind of item: (include header, exclude header)
ITEM_HEADERS = {
    "resource": ("x-mcp-include-resources", "x-mcp-exclude-resources"),
    "prompt": ("x-mcp-include-prompts", "x-mcp-exclude-prompts"),
}
MAX_FILTER_BYTES = 8192  # all filter header values of one request together
MAX_PATTERNS = 64  # entries over all filter headers; a glob among them costs ~50 µs to compile
_ENTRY_BYTES = 600  # what one parsed entry keeps, measured (a compiled glob: ~1 KB, a plain name: ~0.3 KB)


class FilteredOut(NotAllowed):
    reason = "filtered"


class HeaderFilter:
    """The `ToolAccess` rule built from one request's filter headers."""

    __slots__ = ("_clients", "_exclude", "_include", "entries", "footprint")

    def __init__(
        self,
        clients: frozenset[str] | None,
        tools: PatternSet | None,
        exclude: PatternSet,
        entries: Sequence[FilterEntry] = (),
        items: Mapping[str, PatternSet | None] | None = None,
    ) -> None:
        """`tools`: the tools included (None: no include filter); `items`: the same per other kind
        (`resource`, `prompt`); `exclude`: patterns of any kind."""
        self._clients = clients
        self._include: dict[str, PatternSet | None] = {"tool": tools, **(items or {})}
        self._exclude = exclude
        self.entries = tuple(entries)  # every entry as written, with what it was read as
        # about how many bytes this filter keeps in memory (for the middleware cache's budget)
        self.footprint = sum(len(entry.text) + _ENTRY_BYTES * max(1, len(entry.patterns)) for entry in self.entries)

    @classmethod
    def from_scope(cls, scope: Scope, servers: Collection[str] = ()) -> HeaderFilter | None:
        """None when the request carries no filter header at all. `servers` (the configured server names)
        lets Bifrost's `server-tool` entries be read. `BadRequest` names a malformed or oversized entry."""
        _check_size(scope)
        clients = _list(scope, INCLUDE_CLIENTS)
        tools = _list(scope, INCLUDE_TOOLS)
        exclude = _list(scope, EXCLUDE_TOOLS)
        lists = {header: _list(scope, (header.encode(),)) for pair in ITEM_HEADERS.values() for header in pair}
        if clients is None and tools is None and exclude is None and all(v is None for v in lists.values()):
            return None
        _check_entries(
            [*(clients or ()), *(tools or ()), *(exclude or ()), *(e for v in lists.values() for e in v or ())]
        )
        included = [FilterEntry(INCLUDE, t, _tool_patterns(t, servers, INCLUDE)) for t in tools or ()]
        excluded = [FilterEntry(EXCLUDE, t, _tool_patterns(t, servers, EXCLUDE)) for t in exclude or ()]
        named_clients = [FilterEntry("x-mcp-include-clients", c, ()) for c in clients or () if c != "*"]
        items, item_included, item_excluded = _item_filters(lists)
        return cls(
            None if clients is None or "*" in clients else frozenset(clients),
            None if tools is None else PatternSet(p for entry in included for p in entry.patterns),
            PatternSet(p for entry in (*excluded, *item_excluded) for p in entry.patterns),
            [*named_clients, *included, *excluded, *item_included, *item_excluded],
            items,
        )

    def unmatched(self, servers: Collection[str], refs: Iterable[ToolRef]) -> list[FilterEntry]:
        """The entries that match nothing configured: a client that is no configured server, or a tool
        pattern that matches no configured server (or no tool of those whose tools are known)."""
        known = list(refs)
        listed = {ref.server for ref in known}
        missing = []
        for entry in self.entries:
            if entry.header not in _TOOL_ENTRY_HEADERS:  # resources and prompts are not held in a catalog
                continue
            if not entry.patterns:  # a client name
                if entry.text not in servers:
                    missing.append(entry)
                continue
            candidates = [s for s in servers if any(p.matches_server(s) for p in entry.patterns)]
            if not candidates or (
                all(s in listed for s in candidates) and not any(p.matches(r) for p in entry.patterns for r in known)
            ):
                missing.append(entry)
        return missing

    def allows(self, ref: Ref) -> bool:
        include = self._include.get(ref.kind)
        return (
            (self._clients is None or ref.server in self._clients)
            and (include is None or include.matches(ref))
            and not self._exclude.matches(ref)
        )

    def may_see_any(self, kind: str, server: str) -> bool:
        include = self._include.get(kind)
        return (self._clients is None or server in self._clients) and (
            include is None or include.may_match_server(kind, server)
        )

    def denial(self, ref: Ref) -> GatewayError:
        include, exclude = ITEM_HEADERS.get(ref.kind, (INCLUDE, EXCLUDE))
        if self._clients is not None and ref.server not in self._clients:
            why = f"server '{ref.server}' is not in this request's x-mcp-include-clients"
        elif self._exclude.matches(ref):
            why = f"it matches this request's {exclude}"
        else:
            why = f"it is not in this request's {include}"
        return FilteredOut(f"{described(ref)} is filtered out: {why}", extra={ref.kind: str(ref)})


def _list(scope: Scope, names: Iterable[bytes]) -> list[str] | None:
    """The combined comma list of every line of these headers; None when none is present."""
    lines = [value for name in names for value in header_values(scope, name)]
    if not lines:
        return None
    return [item.strip() for line in lines for item in line.split(",") if item.strip()]


class FilterEntry:
    """One entry of a filter header as the client wrote it, and the patterns it was read as (none for a
    client name)."""

    __slots__ = ("header", "patterns", "text")

    def __init__(self, header: str, text: str, patterns: Sequence[ToolPattern]) -> None:
        self.header = header
        self.text = text
        self.patterns = tuple(patterns)


def _check_size(scope: Scope) -> None:
    size = sum(len(value) for name, value in scope.get("headers", ()) if name in FILTER_HEADERS)
    if size > MAX_FILTER_BYTES:
        raise BadRequest(f"The filter headers hold {size} bytes; the limit is {MAX_FILTER_BYTES}")


def _check_entries(entries: list[str]) -> None:
    if len(entries) > MAX_PATTERNS:
        raise BadRequest(f"The filter headers list {len(entries)} entries; the limit is {MAX_PATTERNS}")


def _tool_patterns(text: str, servers: Collection[str], header: str) -> list[ToolPattern]:
    if "/" in text or text == "*":
        server, _, tool = text.partition("/")
        if text != "*" and not (server and tool):
            raise BadRequest(
                f"{header}: entry {text!r} is not 'server/tool', 'server/*', '*', a tool name "
                "or an exposed name (server__tool)",
                extra={"header": header, "entry": text},
            )
        return [ToolPattern.parse(text)]
    server, sep, tool = text.partition(SEPARATOR)
    if sep and server and tool:
        return [ToolPattern.parse(f"{server}/{tool}")]
    # Bifrost's `server-tool`, `server_tool`, `server-*` for each configured server that fits, and always the
    # plain reading "a tool of that name on any server": an entry only ever narrows, so the union is safe.
    readings = [f"{server}/{rest}" for server, rest in prefixed_readings(text, servers)]
    return [ToolPattern.parse(reading) for reading in (*readings, f"*/{text}")]


def _item_filters(
    lists: Mapping[str, list[str] | None],
) -> tuple[dict[str, PatternSet | None], list[FilterEntry], list[FilterEntry]]:
    """The resource and prompt headers' include set per kind (None: that kind unfiltered), and their include
    and exclude entries."""
    includes: dict[str, PatternSet | None] = {}
    included: list[FilterEntry] = []
    excluded: list[FilterEntry] = []
    for kind, (include, exclude) in ITEM_HEADERS.items():
        entries = [FilterEntry(include, t, _item_patterns(t, kind, include)) for t in lists[include] or ()]
        includes[kind] = None if lists[include] is None else PatternSet(p for e in entries for p in e.patterns)
        included += entries
        excluded += [FilterEntry(exclude, t, _item_patterns(t, kind, exclude)) for t in lists[exclude] or ()]
    return includes, included, excluded


def _item_patterns(text: str, kind: str, header: str) -> list[ToolPattern]:
    """A resource or prompt filter entry: `server/<glob>`, `server`, `*`, or the name the gateway shows
    (`mcp-guard://server/<URI>`, `server__prompt`)."""
    shown = resource_ref(text) if kind == "resource" else None
    if shown is not None:
        return [ToolPattern.parse(f"{shown.server}/{shown.uri}", kind)]
    if kind == "prompt" and "/" not in text:
        server, sep, prompt = text.partition(SEPARATOR)
        if sep and server and prompt:
            return [ToolPattern.parse(f"{server}/{prompt}", kind)]
    server, sep, rest = text.partition("/")
    if text != "*" and sep and not (server and rest):
        raise BadRequest(
            f"{header}: entry {text!r} is not 'server/<{kind}>', 'server/*', 'server' or '*'",
            extra={"header": header, "entry": text},
        )
    return [ToolPattern.parse(text, kind)]


_TOOL_ENTRY_HEADERS = frozenset(("x-mcp-include-clients", INCLUDE, EXCLUDE))
FILTER_HEADERS = frozenset(
    (*INCLUDE_CLIENTS, *INCLUDE_TOOLS, *EXCLUDE_TOOLS, *(h.encode() for pair in ITEM_HEADERS.values() for h in pair))
)
