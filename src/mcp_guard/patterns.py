"""Tool patterns: `*`, `server/*`, `server/tool`, and shell-style globs such as `github/list_*`.

Used by every allowlist, blocklist, request filter and auto-execute list, so they all mean the same
thing by the same words. A pattern without `/` is a server name and means `server/*`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .names import ToolRef


@dataclass(frozen=True, slots=True)
class ToolPattern:
    """One compiled pattern."""

    text: str
    _server: re.Pattern[str] = field(repr=False, compare=False)
    _tool: re.Pattern[str] = field(repr=False, compare=False)

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


def _glob(text: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(text))


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
