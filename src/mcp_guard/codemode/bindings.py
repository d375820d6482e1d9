"""The JavaScript names of servers and tools inside Code Mode: the one place that maps them.

A server becomes a global object and each of its tools a method, so both need valid, readable JS
identifiers. `binding_names` is the whole rule, used by the `.d.ts` generator and the sandbox alike:

1. split the name on every character outside `[A-Za-z0-9]` and join the parts in camelCase
   (`web-search` → `webSearch`, `search_repositories` → `searchRepositories`, `GitHub` → `gitHub`);
   a leading digit gets `_` in front (`1password` → `_1password`), a name with no letters or digits
   at all becomes `_` plus 8 hex digits of its SHA-256;
2. a result that is reserved (a JS keyword, or for servers a global the sandbox relies on such as
   `console` or `JSON`; for tools a property every object has such as `constructor` or `then`) gets
   `_` appended;
3. when two names end up with the same identifier, every member of the clash gets `_` plus 6 hex digits
   of the SHA-256 of its own original name appended, so the result depends only on the name itself,
   never on which other names happen to be present first.

The mapping is deterministic for a given set of names. The `.d.ts` files and the sandbox must be given
the same visible set (they are, by the gateway's one visibility rule), so they always agree.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_PARTS = re.compile(r"[A-Za-z0-9]+")
_CLASH_DIGITS = 6

_KEYWORDS = frozenset(
    "await break case catch class const continue debugger default delete do else enum export extends false "
    "finally for function if implements import in instanceof interface let new null package private "
    "protected public return static super switch this throw true try typeof var void while with yield "
    "arguments eval undefined NaN Infinity async of get set".split()
)
# Globals a server binding must not shadow: what the sandbox and ordinary programs rely on.
_GLOBALS = frozenset(
    "globalThis console JSON Math Object Array String Number Boolean Symbol BigInt Date RegExp Error "
    "TypeError RangeError SyntaxError ReferenceError EvalError URIError AggregateError Promise Proxy "
    "Reflect Map Set WeakMap WeakSet WeakRef Intl Iterator Temporal setTimeout clearTimeout parseInt "
    "parseFloat isNaN isFinite encodeURI encodeURIComponent decodeURI decodeURIComponent escape "
    "unescape ToolError servers resources prompts".split()
)
# Properties a tool binding must not take over on the server object.
_OBJECT_PROPERTIES = frozenset(
    "then catch finally constructor prototype toString toLocaleString valueOf toJSON hasOwnProperty "
    "isPrototypeOf propertyIsEnumerable __proto__ __defineGetter__ __defineSetter__ __lookupGetter__ "
    "__lookupSetter__".split()
)


@dataclass(frozen=True, slots=True)
class ServerGlobal:
    """A server as a program sees it: the global `binding`, whose methods map to the server's tools."""

    binding: str
    server: str
    methods: Mapping[str, str]  # method binding → tool name


def server_globals(servers: Mapping[str, Iterable[str]]) -> list[ServerGlobal]:
    """The globals for `servers` (server → visible tool names), named exactly as in the `.d.ts` files."""
    names = binding_names(servers, kind="server")
    result = []
    for server in sorted(servers):
        methods = binding_names(servers[server], kind="tool")
        result.append(ServerGlobal(names[server], server, {m: t for t, m in sorted(methods.items())}))
    return result


def camel_identifier(name: str) -> str:
    """Rule 1 alone: `name` as a camelCase identifier (not yet checked for reserved words or clashes)."""
    parts: list[str] = _PARTS.findall(name)
    if not parts:
        return "_" + hashlib.sha256(name.encode()).hexdigest()[:8]
    head, *rest = parts
    ident = head[0].lower() + head[1:] + "".join(p[0].upper() + p[1:] for p in rest)
    return "_" + ident if ident[0].isdigit() else ident


def binding_names(names: Iterable[str], *, kind: str = "server") -> dict[str, str]:
    """Map each name to its identifier, by the rules above; `kind` is "server" or "tool"."""
    reserved = _KEYWORDS | (_GLOBALS if kind == "server" else _OBJECT_PROPERTIES)
    wanted: dict[str, list[str]] = {}
    for name in sorted(set(names)):
        ident = camel_identifier(name)
        wanted.setdefault(ident + "_" if ident in reserved else ident, []).append(name)
    result: dict[str, str] = {}
    for ident, owners in wanted.items():
        for name in owners:
            result[name] = ident if len(owners) == 1 else f"{ident}_{_digest(name)}"
    return result


def type_namespace(server_binding: str) -> str:
    """The `.d.ts` namespace holding a server's types: its binding with an upper-case first letter.

    Bindings start with a lower-case letter or `_`, so a namespace never coincides with a binding; one
    starting with `_` gets the namespace `T_...`.
    """
    if server_binding.startswith("_"):
        return "T" + server_binding
    return server_binding[:1].upper() + server_binding[1:]


def pascal_case(name: str) -> str:
    """`search_repositories` → `SearchRepositories`, for type names (`T` in front of a leading digit)."""
    ident = camel_identifier(name).lstrip("_")
    if not ident or ident[0].isdigit():
        return "T" + ident
    return ident[:1].upper() + ident[1:]


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:_CLASH_DIGITS]
