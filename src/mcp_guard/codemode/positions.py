"""Where the program sits in the script V8 runs, and V8's positions mapped back to the model's code.

The program becomes the body of an async function expression: the wrapper's line 1 comes first, the
program follows from line 2 (so top-level `await` and `return` work). Type stripping keeps every character where
it was, so the only shifts are that one line and V8 counting columns in UTF-16 code units where the
model's editor counts characters. Positions returned here are 1-based (line, column) in the original
TypeScript.
"""

from __future__ import annotations

import re

PROGRAM_FILE = "program.ts"
PROGRAM_LINE_OFFSET = 1
_PROGRAM_HEAD = '(async function () { "use strict";\n'
_PROGRAM_TAIL = f"\n}})\n//# sourceURL={PROGRAM_FILE}\n"

_FRAME = re.compile(rf"{re.escape(PROGRAM_FILE)}:(\d+):(\d+)")
# "<anonymous>:2: SyntaxError: Unexpected token ';'\n<source line>\n<spaces>^" (V8's compile error text)
_SYNTAX = re.compile(r"^[^\n]*?:(\d+): (SyntaxError: [^\n]*)\n([^\n]*)\n( *)\^")

_LINE_BREAK = re.compile("\r\n|[\r\n\u2028\u2029]")
Position = tuple[int, int]


def source_lines(javascript: str) -> list[str]:
    """The program's lines as JavaScript counts them (also after a final line break)."""
    return _LINE_BREAK.split(javascript)


def wrap_program(javascript: str) -> str:
    """The script V8 evaluates for `javascript` (the program body, types already stripped)."""
    return f"{_PROGRAM_HEAD}{javascript}{_PROGRAM_TAIL}"


def stack_position(stack: str, lines: list[str]) -> Position | None:
    """The innermost frame of the program in a V8 stack (`lines`: the JavaScript the program became)."""
    for match in _FRAME.finditer(stack):
        line = int(match.group(1)) - PROGRAM_LINE_OFFSET
        if 1 <= line <= len(lines):  # outside: the wrapper's own lines
            return line, _characters(lines[line - 1], int(match.group(2)))
    return None


def syntax_error(message: str, lines: list[str], line_offset: int = PROGRAM_LINE_OFFSET) -> tuple[str, Position | None]:
    """The `SyntaxError: ...` text of a V8 compile error and where it points, if it says.

    `line_offset`: lines V8 counted before the program's first (the wrapper's, or those of the source
    V8 synthesises for a function built from a string).
    """
    match = _SYNTAX.search(message)
    if match is None:
        return message.strip().splitlines()[0] if message.strip() else "SyntaxError", None
    line = int(match.group(1)) - line_offset
    text = match.group(2)
    if not 1 <= line <= len(lines):  # on the wrapper's lines: an unclosed or extra bracket, not placeable
        return text, None
    return text, (line, _characters(lines[line - 1], len(match.group(4)) + 1))


def _characters(line: str, utf16_column: int) -> int:
    """A 1-based UTF-16 column on `line` as a 1-based character column."""
    units = 0
    for index, char in enumerate(line):
        if units >= utf16_column - 1:
            return index + 1
        units += 2 if ord(char) > 0xFFFF else 1
    return len(line) + 1
