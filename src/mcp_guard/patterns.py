"""Tool patterns: `*`, `server/*`, `server/tool`, and shell-style globs such as `github/list_*`.

Used by every allowlist, blocklist, request filter and auto-execute list, so they all mean the same
thing by the same words. A pattern without `/` is a server name and means `server/*`.

A pattern names tools unless it starts with `resource:` or `prompt:`: `resource:docs/file:///public/*`
matches the resources (and templates) of server `docs` whose URI matches the glob, `prompt:*/review_*` the
prompts of any server named `review_…`. A pattern only ever matches references of its own kind, so `*`
is every tool (not every resource) and existing tool lists keep meaning what they meant.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from .names import Ref

_GLOB_CHARS = frozenset("*?[")
KINDS = ("resource", "prompt")  # the prefixes a pattern may carry; none = tool


def split_kind(text: str) -> tuple[str, str]:
    """`("resource", "docs/*")` for `resource:docs/*`; `("tool", text)` when there is no kind prefix."""
    kind, sep, rest = text.partition(":")
    return (kind, rest) if sep and kind in KINDS else ("tool", text)


class _Matcher(Protocol):
    def match(self, text: str, /) -> object: ...


@dataclass(frozen=True, slots=True)
class ToolPattern:
    """One compiled pattern."""

    text: str
    _server: _Matcher = field(repr=False, compare=False)
    _tool: _Matcher = field(repr=False, compare=False)
    kind: str = "tool"

    @classmethod
    def parse(cls, text: str, kind: str | None = None) -> ToolPattern:
        """`kind` given: `text` has no prefix and names that kind (a resource filter header's entries)."""
        text = text.strip()
        if kind is None:
            kind, body = split_kind(text)
        else:
            body = text
        if not body:
            raise ValueError(f"empty {kind} pattern")
        return cls._of(text, body, kind)

    @classmethod
    def _of(cls, text: str, body: str, kind: str) -> ToolPattern:
        if body == "*":
            server, tool = "*", "*"
        elif "/" in body:
            server, _, tool = body.partition("/")
            if not server or not tool:
                raise ValueError(f"{kind} pattern {text!r} is not of the form 'server/{kind}', 'server/*' or '*'")
        else:
            server, tool = body, "*"
        return cls(text, _glob(server), _glob(tool), kind)

    def matches(self, ref: Ref) -> bool:
        return ref.kind == self.kind and bool(self._server.match(ref.server) and self._tool.match(ref.local))

    def matches_server(self, server: str) -> bool:
        """True when the pattern can match some tool of `server`."""
        return bool(self._server.match(server))


def _glob(text: str) -> _Matcher:
    """A regular expression only for a real glob: compiling one costs ~50 µs and ~0.5 KB, and a request's
    filter header may list dozens of plain names (`*` and plain names are the common case)."""
    if text == "*":
        return _ANY
    if _GLOB_CHARS.isdisjoint(text):
        return _Literal(text)
    return re.compile(fnmatch.translate(text))


class _Literal:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def match(self, text: str, /) -> bool:
        return text == self.text


class _Anything:
    __slots__ = ()

    def match(self, text: str, /) -> bool:
        return True


_ANY = _Anything()


class PatternSet:
    """An ordered set of patterns; matches when any member does. An empty set matches nothing."""

    __slots__ = ("patterns",)

    def __init__(self, patterns: Iterable[str | ToolPattern] = ()) -> None:
        self.patterns = tuple(p if isinstance(p, ToolPattern) else ToolPattern.parse(p) for p in patterns)

    def matches(self, ref: Ref) -> bool:
        return any(p.matches(ref) for p in self.patterns)

    def may_match_server(self, kind: str, server: str) -> bool:
        """Whether some member could match something of `kind` on `server`."""
        return any(p.kind == kind and p.matches_server(server) for p in self.patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def __repr__(self) -> str:
        return f"PatternSet({[p.text for p in self.patterns]!r})"
