"""The code blocks of the documentation that the tests run: each follows a `<!-- snippet: NAME -->` line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_MARKED_BLOCK = re.compile(
    r"^<!-- snippet: (?P<name>[\w.-]+) -->\n```(?P<language>\w+)\n(?P<code>.*?)^```$", re.MULTILINE | re.DOTALL
)


@dataclass(frozen=True)
class Snippet:
    name: str
    language: str
    code: str
    document: str

    def __str__(self) -> str:
        return f"{self.document}:{self.name}"


def marked_snippets(path: Path) -> list[Snippet]:
    """Every marked fenced block of a Markdown file, in order."""
    text = path.read_text(encoding="utf-8")
    return [Snippet(m["name"], m["language"], m["code"], path.name) for m in _MARKED_BLOCK.finditer(text)]
