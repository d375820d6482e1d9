"""JSON from clients, bounded: what a request body may be, and what a tool call's name and arguments may hold.

Two rules keep one caller's input from reaching, and breaking, what every caller shares:

- **Bodies** are parsed by pydantic-core's parser (jiter): it refuses invalid UTF-8, lone surrogate escapes
  (`"\\ud800"` is valid JSON but cannot be encoded as UTF-8, so relayed to a stdio server it breaks the
  pipe for everyone), `NaN`/`Infinity`, and nesting deeper than `MAX_BODY_DEPTH`, all as `BadRequest`;
  Python's `json` module raises `RecursionError` (a 500) on a deep body instead.
- **Tool calls** are checked by `check_call` in the pipeline, the one stage every entry point passes (MCP
  endpoint, REST, agent mode, Code Mode): the name and every string of the arguments must be encodable
  text, and the arguments at most `MAX_ARGUMENT_DEPTH` levels deep (pydantic stops serialising at 255
  levels, so a deeper value would fail upstream as a 502). Values that did not come through `parse_body`
  (the MCP endpoint's own parser, a Code Mode program, an in-process caller) are held to the same rule.
"""

from __future__ import annotations

from typing import Any

import pydantic_core

from .errors import MalformedInput

MAX_BODY_DEPTH = 200  # jiter's fixed recursion limit: a body nested deeper is refused while parsing
MAX_ARGUMENT_DEPTH = 64  # far beyond any tool schema; well inside what every serialiser on the way accepts
MAX_NAME_LENGTH = 512  # a tool reference `server/tool` or an exposed name (64) with room to spare


def parse_body(raw: bytes | str, what: str = "Body") -> Any:
    """`raw` as JSON; `BadRequest` naming the problem (`what` names the part: "Body", "Arguments of ...")."""
    try:
        return pydantic_core.from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        raise MalformedInput(f"{what} is not valid JSON: {_explain(str(exc))}") from None


def _explain(message: str) -> str:
    if message.startswith("recursion limit exceeded"):
        return f"it is nested deeper than {MAX_BODY_DEPTH} levels ({message})"
    if "surrogate" in message or "hex escape" in message:
        return f"a \\u escape is invalid or a lone surrogate, which is not a character ({message})"
    return message


def check_call(name: Any, arguments: Any) -> None:
    """Refuse a tool call whose name or arguments no upstream could be sent safely (`MalformedInput`)."""
    check_name(name)
    if isinstance(arguments, dict | list):
        check_value(arguments, f"the arguments of {name!r}")


def check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise MalformedInput(f"A tool name must be a non-empty string, got {type(name).__name__}")
    if len(name) > MAX_NAME_LENGTH:
        raise MalformedInput(f"Tool name is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}")
    if not name.isascii():
        _check_text(name, "The tool name")


def check_value(value: Any, where: str, max_depth: int = MAX_ARGUMENT_DEPTH) -> None:
    """Every string (keys too) encodable as UTF-8, containers nested at most `max_depth` deep; `where` names
    the value in messages ("the arguments of 'notes__echo'").

    Walked with an explicit stack: a recursive walk would itself fail on the values it exists to refuse."""
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(value, 1, ())]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                _check_text(item, f"In {where}, the string at {_at(path)}")
            continue
        if isinstance(item, dict):
            children: Any = item.items()
        elif isinstance(item, list | tuple):
            children = enumerate(item)
        else:
            continue
        if depth > max_depth:
            raise MalformedInput(
                f"{where[:1].upper()}{where[1:]} are nested deeper than {max_depth} levels (at {_at(path)})"
            )
        for key, child in children:
            if isinstance(key, str) and not key.isascii():
                _check_text(key, f"In {where}, a key at {_at(path)}")
            stack.append((child, depth + 1, (*path, key)))


def _check_text(text: str, subject: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end].encode("unicode_escape").decode("ascii")
        raise MalformedInput(
            f"{subject} contains a lone surrogate ({bad} at position {exc.start}); strings must be valid Unicode"
        ) from None


def _at(path: tuple[Any, ...]) -> str:
    shown = "".join(f"[{key!r}]" for key in path[:8]) + ("[...]" if len(path) > 8 else "")
    return shown or "the top level"


def printable(text: str) -> str:
    """`text` with anything not encodable as UTF-8 escaped: safe to log, audit and echo back."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
