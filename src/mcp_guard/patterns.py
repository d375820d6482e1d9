"""Tool patterns: `*`, `server/*`, `server/tool`, and shell-style globs such as `github/list_*`.

Used by every allowlist, blocklist, request filter and auto-execute list, so they all mean the same
thing by the same words. A pattern without `/` is a server name and means `server/*`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from .names import ToolRef

_GLOB_CHARS = frozenset("*?[")


class _Matcher(Protocol):
    def match(self, text: str, /) -> object: ...


@dataclass(frozen=True, slots=True)
class ToolPattern:
    """One compiled pattern."""

    text: str
    _server: _Matcher = field(repr=False, compare=False)
    _tool: _Matcher = field(repr=False, compare=False)

    @classmethod
    def parse(cls, text: str) -> ToolPattern:
        text = text.strip()
        if not text:
            raise ValueError("empty tool pattern")
        if text == "*":
            server, tool = "*", "*"
        elif "/" in text:
            server, _, tool = text.partition("/")
            if not server or not tool:
                raise ValueError(f"tool pattern {text!r} is not of the form 'server/tool', 'server/*' or '*'")
        else:
            server, tool = text, "*"
        return cls(text, _glob(server), _glob(tool))

    def matches(self, ref: ToolRef) -> bool:
        return bool(self._server.match(ref.server) and self._tool.match(ref.tool))

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

    def matches(self, ref: ToolRef) -> bool:
        return any(p.matches(ref) for p in self.patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def __repr__(self) -> str:
        return f"PatternSet({[p.text for p in self.patterns]!r})"
