"""Per-request tool filters from headers: they only ever narrow what a caller sees and may call.

    x-mcp-include-clients: filesystem, database     only these servers
    x-mcp-include-tools:   filesystem/read_*, database/query
    x-mcp-exclude-tools:   */delete_*

Absent header = no filter; present but empty = nothing. `*` and `server/*` wildcards. A tools entry without
`/` is an exposed name (`server__tool`) or, failing that, a tool name on any server. Bifrost's
`x-bf-mcp-include-clients` / `x-bf-mcp-include-tools` are accepted as aliases. Repeated header lines (and
an alias next to the original) are combined into one list, as HTTP (RFC 9110 §5.3) says they mean.
"""

from __future__ import annotations

from collections.abc import Iterable

from .asgi import Scope, header_values
from .errors import GatewayError, NotAllowed
from .names import SEPARATOR, ToolRef
from .patterns import PatternSet, ToolPattern

INCLUDE_CLIENTS = (b"x-mcp-include-clients", b"x-bf-mcp-include-clients")
INCLUDE_TOOLS = (b"x-mcp-include-tools", b"x-bf-mcp-include-tools")
EXCLUDE_TOOLS = (b"x-mcp-exclude-tools",)


class FilteredOut(NotAllowed):
    reason = "filtered"


class HeaderFilter:
    """The `ToolAccess` rule built from one request's filter headers."""

    __slots__ = ("_clients", "_exclude", "_tools")

    def __init__(self, clients: frozenset[str] | None, tools: PatternSet | None, exclude: PatternSet) -> None:
        self._clients = clients
        self._tools = tools
        self._exclude = exclude

    @classmethod
    def from_scope(cls, scope: Scope) -> HeaderFilter | None:
        """None when the request carries no filter header at all."""
        clients = _list(scope, INCLUDE_CLIENTS)
        tools = _list(scope, INCLUDE_TOOLS)
        exclude = _list(scope, EXCLUDE_TOOLS)
        if clients is None and tools is None and exclude is None:
            return None
        return cls(
            None if clients is None or "*" in clients else frozenset(clients),
            None if tools is None else PatternSet(_tool_pattern(t) for t in tools),
            PatternSet(_tool_pattern(t) for t in exclude or ()),
        )

    def allows(self, ref: ToolRef) -> bool:
        return (
            (self._clients is None or ref.server in self._clients)
            and (self._tools is None or self._tools.matches(ref))
            and not self._exclude.matches(ref)
        )

    def denial(self, ref: ToolRef) -> GatewayError:
        if self._clients is not None and ref.server not in self._clients:
            why = f"server '{ref.server}' is not in this request's x-mcp-include-clients"
        elif self._exclude.matches(ref):
            why = "it matches this request's x-mcp-exclude-tools"
        else:
            why = "it is not in this request's x-mcp-include-tools"
        return FilteredOut(f"Tool '{ref}' is filtered out: {why}", extra={"tool": str(ref)})


def _list(scope: Scope, names: Iterable[bytes]) -> list[str] | None:
    """The combined comma list of every line of these headers; None when none is present."""
    lines = [value for name in names for value in header_values(scope, name)]
    if not lines:
        return None
    return [item.strip() for line in lines for item in line.split(",") if item.strip()]


def _tool_pattern(text: str) -> ToolPattern:
    if "/" in text or text == "*":
        return ToolPattern.parse(text)
    server, sep, tool = text.partition(SEPARATOR)
    return ToolPattern.parse(f"{server}/{tool}" if sep and server and tool else f"*/{text}")
