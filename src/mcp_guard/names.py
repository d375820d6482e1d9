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
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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

    @classmethod
    def parse(cls, text: str) -> ToolRef:
        """Parse `server/tool`; the tool part may itself contain `/`."""
        server, sep, tool = text.partition("/")
        if not sep or not server or not tool:
            raise ValueError(f"tool reference {text!r} is not of the form 'server/tool'")
        return cls(server, tool)

    def __str__(self) -> str:
        return f"{self.server}/{self.tool}"


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

    __slots__ = ("_by_name", "_by_ref", "_servers")

    def __init__(self, refs: Iterable[ToolRef]) -> None:
        unique = sorted(set(refs))
        wanted: dict[str, list[ToolRef]] = {}
        for ref in unique:
            wanted.setdefault(exposed_name(ref), []).append(ref)
        self._by_ref: dict[ToolRef, str] = {}
        for name, owners in wanted.items():
            for ref in owners:
                self._by_ref[ref] = name if len(owners) == 1 else hashed_name(ref)
        self._by_name = {name: ref for ref, name in self._by_ref.items()}
        self._servers = sorted({ref.server for ref in unique})

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
