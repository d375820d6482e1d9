"""Tool references and the names MCP clients and LLMs see: the one place that maps between them.

Inside the gateway (config, headers, audit, REST) a tool is named by its reference `server/tool`.
Clients and models get a flat *exposed name* that must be valid for both SEP-986
(`[A-Za-z0-9._-]{1,128}`) and OpenAI function names (`[A-Za-z0-9_-]{1,64}`), so only
`[A-Za-z0-9_-]{1,64}` is used:

1. `server__tool` when that already fits (the common case: readable, and what Bifrost users expect);
2. otherwise characters outside the alphabet become `_`, and if that changed anything or the name is
   longer than 64, the name is cut to 55 characters and `_` plus 8 hex digits of SHA-256 over the full
   reference is appended. The suffix makes the name deterministic (it depends on the reference only)
   and, in practice, collision-free.

`NameTable` keeps the mapping both ways and resolves the rare remaining clash (two references whose
plain names coincide, such as `a__b/c` and `a/b__c`) by giving every member of the clash the hashed
form, so no name ever silently points at the wrong tool.

On input the gateway also accepts Bifrost's forms, `server-tool` (current Bifrost) and `server_tool` (older
versions), where exactly one configured server and one of its tools fit (`prefixed_readings`); a name
two tools could be read as is refused as ambiguous rather than guessed.

Resources and prompts are named here too (`ResourceRef`, `PromptRef`); in config, patterns and the audit
log they are written `resource:server/<uri>` and `prompt:server/<name>`.

- A prompt is shown as `server__name` (`item_name`; resources' and templates' names too); server names
  never contain `__`, so the first `__` splits it back (`prompt_ref`). Prompt names are not function
  names: no shortening is needed.
- A resource URI is shown as `mcp-guard://server/<original URI>` (`gateway_uri`), the original kept
  verbatim after the server, so a template `mcp-guard://docs/file:///{path}` expands on the client into a
  URI that maps back (`resource_ref`) to `file:///<path>` on `docs`. Two servers' URIs never clash: the
  server is part of every gateway URI.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

SEPARATOR = "__"
MAX_EXPOSED_LENGTH = 64
_HASH_DIGITS = 8
_ALLOWED = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DISALLOWED_CHAR = re.compile(r"[^A-Za-z0-9_-]")
SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$")
BIFROST_SEPARATORS = "-_"  # `server-tool` (Bifrost today), `server_tool` (older Bifrost)


@dataclass(frozen=True, slots=True, order=True)
class ToolRef:
    """A tool's identity inside the gateway: the upstream server's name and the tool's own name."""

    server: str
    tool: str
    kind: ClassVar[str] = "tool"

    @property
    def local(self) -> str:
        """The name on its server (what a pattern's part after `server/` matches)."""
        return self.tool

    @classmethod
    def parse(cls, text: str) -> ToolRef:
        """Parse `server/tool`; the tool part may itself contain `/`."""
        server, sep, tool = text.partition("/")
        if not sep or not server or not tool:
            raise ValueError(f"tool reference {text!r} is not of the form 'server/tool'")
        return cls(server, tool)

    def __str__(self) -> str:
        return f"{self.server}/{self.tool}"


@dataclass(frozen=True, slots=True, order=True)
class _ItemRef:
    """Something of one upstream other than a tool: its server and its name (or URI) there."""

    server: str
    local: str
    kind: ClassVar[str]

    def __str__(self) -> str:
        return f"{self.kind}:{self.server}/{self.local}"


class ResourceRef(_ItemRef):
    """A resource (or resource template) of one upstream: its server and its URI (template) there."""

    __slots__ = ()
    kind = "resource"

    @property
    def uri(self) -> str:
        return self.local


class PromptRef(_ItemRef):
    """A prompt of one upstream."""

    __slots__ = ()
    kind = "prompt"

    @property
    def prompt(self) -> str:
        return self.local


Ref = ToolRef | ResourceRef | PromptRef
"""Anything a rule can allow or deny; `ref.kind` says which."""


def described(ref: Ref) -> str:
    """`Tool 'a/b'`, `Resource 'file:///x' of server 'docs'`, `Prompt 'review' of server 'git'`: for messages."""
    if ref.kind == "tool":
        return f"Tool '{ref}'"
    return f"{ref.kind.capitalize()} '{ref.local}' of server '{ref.server}'"


GATEWAY_URI_SCHEME = "mcp-guard"
_GATEWAY_URI_PREFIX = f"{GATEWAY_URI_SCHEME}://"


def gateway_uri(server: str, uri: str) -> str:
    """The URI (or URI template) clients are shown for `uri` of `server`."""
    return f"{_GATEWAY_URI_PREFIX}{server}/{uri}"


def resource_ref(text: str) -> ResourceRef | None:
    """The upstream resource a gateway URI names; None when `text` is not a gateway URI."""
    if not text.startswith(_GATEWAY_URI_PREFIX):
        return None
    server, sep, uri = text[len(_GATEWAY_URI_PREFIX) :].partition("/")
    if not sep or not uri or not SERVER_NAME.match(server):
        return None
    return ResourceRef(server, uri)


def local_uri(server: str, shown: str) -> str:
    """The URI of `server` behind gateway URI `shown` (a virtual server over one upstream shows these);
    `shown` itself when it is another server's or no gateway URI."""
    ref = resource_ref(shown)
    return ref.uri if ref is not None and ref.server == server else shown


def local_name(server: str, shown: str) -> str:
    """A prompt's (resource's, template's) name on `server` behind its shown `server__name`."""
    prefix = f"{server}{SEPARATOR}"
    return shown[len(prefix) :] if shown.startswith(prefix) else shown


def item_name(server: str, name: str) -> str:
    """The name clients are shown for a prompt (and, as a label, for a resource or template)."""
    return f"{server}{SEPARATOR}{name}"


def prompt_ref(name: str, servers: Collection[str]) -> PromptRef | None:
    """The prompt of one of `servers` behind a shown name (`server__prompt`, or `server/prompt`); None when
    it names none. A server name may end in `_` (`a_` + `__p` reads `a___p`): both readings are tried,
    and a name two servers could claim names none."""
    if "/" in name and SEPARATOR not in name.partition("/")[0]:
        server, _, prompt = name.partition("/")
        return PromptRef(server, prompt) if server in servers and prompt else None
    at = name.find(SEPARATOR)
    if at <= 0:
        return None
    splits = [at] + ([at + 1] if name[at + 2 : at + 3] == "_" else [])
    readings = [PromptRef(name[:i], name[i + 2 :]) for i in splits if name[:i] in servers and name[i + 2 :]]
    return readings[0] if len(readings) == 1 else None


def plain_name(ref: ToolRef) -> str:
    """`server__tool` with disallowed characters replaced: readable, but not always unique or short."""
    return _DISALLOWED_CHAR.sub("_", f"{ref.server}{SEPARATOR}{ref.tool}")


def hashed_name(ref: ToolRef) -> str:
    """The shortened, hash-suffixed form; unique per reference and always valid."""
    digest = hashlib.sha256(str(ref).encode()).hexdigest()[:_HASH_DIGITS]
    prefix = plain_name(ref)[: MAX_EXPOSED_LENGTH - _HASH_DIGITS - 1]
    return f"{prefix}_{digest}"


def prefixed_readings(text: str, servers: Iterable[str]) -> list[tuple[str, str]]:
    """Every `(server, rest)` that reads `text` as Bifrost's `<server>-<rest>` or `<server>_<rest>` for one of
    `servers` (several when server names prefix each other, e.g. `web` and `web-search`)."""
    return [
        (server, text[len(server) + 1 :])
        for server in servers
        if len(text) > len(server) + 1 and text.startswith(server) and text[len(server)] in BIFROST_SEPARATORS
    ]


def exposed_name(ref: ToolRef) -> str:
    """The name shown for `ref` when nothing clashes with it."""
    raw = f"{ref.server}{SEPARATOR}{ref.tool}"
    return raw if _ALLOWED.match(raw) else hashed_name(ref)


class NameTable:
    """Bidirectional map between references and exposed names for one set of tools."""

    __slots__ = ("_by_name", "_by_ref", "_by_server", "_servers", "_wanted")

    def __init__(self, refs: Iterable[ToolRef]) -> None:
        self._wanted: dict[str, tuple[ToolRef, ...]] = {}  # exposed name → every reference that wants it
        self._by_server: dict[str, tuple[ToolRef, ...]] = {}
        self._by_ref: dict[ToolRef, str] = {}
        self._by_name: dict[str, ToolRef] = {}
        self._add(refs)
        self._servers = sorted(self._by_server)

    def replacing(self, servers: Collection[str], refs: Iterable[ToolRef]) -> tuple[NameTable, set[str]]:
        """This table with the tools of `servers` replaced by `refs` (all on those servers), and the other
        servers whose tools got another name (a clash appeared or went). Costs copying the maps (in C) and
        the tools that came or went, not a pass over every tool, nor over the tools that stayed (a refresh
        that changed a description renames nothing): one upstream's change at 10,000 tools runs on the
        event loop (`bench/catalog_scale.py`)."""
        table = NameTable(())
        table._wanted, table._by_server = dict(self._wanted), dict(self._by_server)
        table._by_ref, table._by_name = dict(self._by_ref), dict(self._by_name)
        incoming = dict.fromkeys(refs)
        held = {ref for server in servers for ref in table._by_server.pop(server, ())}
        touched: set[str] = set()
        for ref in held.difference(incoming):
            name = exposed_name(ref)
            table._wanted[name] = tuple(r for r in table._wanted[name] if r != ref)
            del table._by_name[table._by_ref.pop(ref)]
            touched.add(name)
        renamed = table._add((ref for ref in incoming if ref not in held), touched)
        for server in servers:
            mine = tuple(ref for ref in incoming if ref.server == server)  # as given, kept ones included
            if mine:
                table._by_server[server] = mine
            else:
                table._by_server.pop(server, None)
        table._servers = sorted(table._by_server)
        return table, renamed - set(servers)

    def _add(self, refs: Iterable[ToolRef], touched: set[str] | None = None) -> set[str]:
        """Add `refs`, then name every reference of the exposed names they or `touched` want; the servers of
        the references named anew."""
        touched = set() if touched is None else touched
        added: dict[str, list[ToolRef]] = {}
        for ref in dict.fromkeys(refs):  # once each, in the order given
            added.setdefault(ref.server, []).append(ref)
            name = exposed_name(ref)
            self._wanted[name] = (*self._wanted.get(name, ()), ref)
            touched.add(name)
        for server, more in added.items():
            self._by_server[server] = (*self._by_server.get(server, ()), *more)
        named: set[str] = set()
        for name in touched:
            owners = self._wanted.get(name, ())
            if not owners:
                self._wanted.pop(name, None)
            for ref in owners:
                new = name if len(owners) == 1 else hashed_name(ref)
                old = self._by_ref.get(ref)
                if old != new:
                    if old is not None:
                        del self._by_name[old]
                    self._by_ref[ref], self._by_name[new] = new, ref
                    named.add(ref.server)
        return named

    def name_of(self, ref: ToolRef) -> str:
        return self._by_ref[ref]

    def ref_of(self, name: str) -> ToolRef | None:
        """The reference behind an exposed name; also accepts the `server/tool` form itself, and Bifrost's
        `server-tool` / `server_tool` when exactly one tool reads that way."""
        ref = self._by_name.get(name)
        if ref is not None:
            return ref
        if "/" in name:
            server, _, tool = name.partition("/")
            candidate = ToolRef(server, tool)
            return candidate if candidate in self._by_ref else None
        readings = self.bifrost_readings(name)
        return readings[0] if len(readings) == 1 else None

    def bifrost_readings(self, name: str) -> Sequence[ToolRef]:
        """The known tools `name` names in Bifrost's `server-tool` / `server_tool` form (more than one:
        ambiguous)."""
        refs = (ToolRef(server, tool) for server, tool in prefixed_readings(name, self._servers))
        return [ref for ref in refs if ref in self._by_ref]

    def __len__(self) -> int:
        return len(self._by_ref)
