"""TypeScript → JavaScript by blanking type-only syntax, as Node's `--experimental-strip-types` does.

The program is parsed with tree-sitter's TypeScript grammar; every range that exists only for the type
checker (annotations, `as`/`satisfies` tails, non-null `!`, generics, interfaces, type aliases, `declare`,
overload signatures, modifiers, `import type`, optional `?`) is replaced by spaces, character for
character, keeping line breaks. The JavaScript therefore has the same line:column for every token as
the TypeScript the model wrote, so runtime errors point at its own code without a source map. A fully
blanked statement starts with `;` so the statements around it cannot merge under ASI.

Syntax that would need code *generated* rather than erased is refused with its position: `enum`,
namespaces holding values, constructor parameter properties, `import x = require()`, `export =`,
decorators. `import`/`export` of values are refused too: the sandbox runs one script, not modules.

One exception to "character for character": a return-type annotation of an arrow function that spans
lines would leave a line break between `)` and `=>`, which JavaScript rejects; there the parameters'
closing `)` moves to the annotation's last character, so the line breaks fall inside the parentheses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import tree_sitter
import tree_sitter_typescript

ErrorKind = Literal["syntax", "unsupported-typescript"]

# Nodes removed whole, wherever they appear (their subtrees are types only).
_TYPE_NODES = frozenset(
    {
        "type_annotation",
        "type_predicate_annotation",
        "asserts_annotation",
        "type_parameters",
        "type_arguments",
        "implements_clause",
        "accessibility_modifier",
        "override_modifier",
    }
)
# Declarations and members that exist only for the type checker: removed whole, leaving `;`.
_TYPE_STATEMENTS = frozenset(
    {
        "interface_declaration",
        "type_alias_declaration",
        "function_signature",
        "ambient_declaration",
        "method_signature",
        "abstract_method_signature",
        "index_signature",
    }
)
_MODULE_NODES = frozenset({"internal_module", "module"})
_KEEP_CHARS = frozenset("\r\n\u2028\u2029")
_MODULES_HINT = "there are no modules in the sandbox: servers are globals and the .d.ts types need no import"


class TypeScriptError(Exception):
    """The program cannot be turned into JavaScript; `line` and `column` are 1-based."""

    def __init__(self, kind: ErrorKind, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.kind: ErrorKind = kind
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class _Blank:
    start: int  # byte offsets
    end: int
    statement: bool  # a whole statement or class member: start it with `;`
    moves_paren: bool = False  # the range starts with `)`, which goes to its last character instead


@lru_cache(maxsize=1)
def _parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_typescript.language_typescript()))


def parse(source: str) -> tree_sitter.Tree:
    """The tree-sitter TypeScript tree of `source` (also used to check generated `.d.ts` files)."""
    return _parser().parse(source.encode("utf-8"))


def strip_types(source: str, *, tolerant: bool = False) -> str:
    """The JavaScript for `source`, positions unchanged; `TypeScriptError` if it cannot be erased.

    `tolerant` skips the syntax check and leaves the parts the parser could not read as they are, so
    that V8 can say precisely what is wrong with them (`executor` does this for syntax errors).
    """
    data = source.encode("utf-8")
    tree = parse(source)
    if not tolerant:
        _check_syntax(tree.root_node, data)
    blanks = _Collector(data).collect(tree.root_node)
    return _apply(data, blanks)


def _check_syntax(root: tree_sitter.Node, data: bytes) -> None:
    if not root.has_error:
        return
    node = _first_error(root)
    if node is None:  # has_error without an ERROR/MISSING node: be safe and refuse vaguely
        raise TypeScriptError("syntax", "syntax error", 1, 1)
    snippet = data[node.start_byte : node.end_byte].decode("utf-8", "replace").strip().splitlines()
    first = snippet[0][:40] if snippet else ""
    if node.is_missing:
        message = f"syntax error: expected {node.type!r}"
    elif node.end_byte >= len(data.rstrip()) and _unclosed(data[node.start_byte : node.end_byte]):
        message = f"syntax error: the program ends before {first!r} (starting here) is complete"
    else:
        message = f"syntax error: unexpected {first!r}"
    raise _error_at(node, data, "syntax", message)


def _unclosed(text: bytes) -> bool:
    return sum(text.count(c) for c in (b"(", b"[", b"{")) > sum(text.count(c) for c in (b")", b"]", b"}"))


def _first_error(root: tree_sitter.Node) -> tree_sitter.Node | None:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            return node
        if node.has_error:
            stack.extend(reversed(node.children))
    return None


def _error_at(node: tree_sitter.Node, data: bytes, kind: ErrorKind, message: str) -> TypeScriptError:
    row, column = node.start_point
    line_start = data.rfind(b"\n", 0, node.start_byte) + 1
    column = len(data[line_start : node.start_byte].decode("utf-8", "replace"))  # characters, not bytes
    return TypeScriptError(kind, message, row + 1, column + 1)


class _Collector:
    """Walks the tree once, in source order, collecting the ranges to blank and raising on refusals."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.blanks: list[_Blank] = []

    def collect(self, root: tree_sitter.Node) -> list[_Blank]:
        stack = [root]  # explicit stack: deeply nested programs must not hit Python's recursion limit
        while stack:
            node = stack.pop()
            if self._visit(node):
                stack.extend(reversed(node.children))
        return self.blanks

    def _visit(self, node: tree_sitter.Node) -> bool:
        """Record the blanks `node` needs; return whether its children still need visiting."""
        kind = node.type
        if node.is_error:
            return False
        if kind in _TYPE_NODES:
            return self.blank(node, statement=False)
        if kind in _TYPE_STATEMENTS:
            return self.blank(node, statement=True)
        handler = _HANDLERS.get(kind)
        return True if handler is None else handler(self, node)

    def blank(self, node: tree_sitter.Node, *, statement: bool, end: int | None = None) -> bool:
        self.blanks.append(_Blank(node.start_byte, node.end_byte if end is None else end, statement))
        return False

    def tokens(self, node: tree_sitter.Node, *types: str) -> bool:
        """Blank the direct anonymous children of `node` of the given types; its children still need a visit."""
        for child in node.children:
            if not child.is_named and child.type in types:
                self.blank(child, statement=False)
        return True

    def refuse(self, node: tree_sitter.Node, message: str) -> TypeScriptError:
        return _error_at(node, self.data, "unsupported-typescript", message)

    def tail(self, node: tree_sitter.Node) -> bool:
        """`expr as T`, `expr satisfies T`: blank from the keyword on, then visit `expr` only."""
        keyword = next(c for c in node.children if c.type in ("as", "satisfies"))
        self.blanks.append(_Blank(keyword.start_byte, node.end_byte, False))
        expression = node.child(0)
        if expression is not None and expression is not keyword:
            self.collect(expression)
        return False

    def arrow_function(self, node: tree_sitter.Node) -> bool:
        """`(a: A): R => …`: an `R` spanning lines takes the `)` along (see the module docstring)."""
        parameters, returns = node.child_by_field_name("parameters"), node.child_by_field_name("return_type")
        if parameters is not None and returns is not None and b"\n" in self.data[returns.start_byte : returns.end_byte]:
            self.blanks.append(_Blank(parameters.end_byte - 1, returns.end_byte, False, moves_paren=True))
        return True

    def class_member(self, node: tree_sitter.Node) -> bool:
        """Fields and methods: `declare`/`abstract` members go whole; `readonly`, `?` and `!` go."""
        tokens = {c.type for c in node.children if not c.is_named}
        if "declare" in tokens or "abstract" in tokens:
            return self.blank(node, statement=True)
        if node.type == "method_definition" and _is_constructor(node):
            self._check_parameter_properties(node)
        return self.tokens(node, "readonly", "?", "!")

    def _check_parameter_properties(self, method: tree_sitter.Node) -> None:
        params = method.child_by_field_name("parameters")
        for param in params.named_children if params is not None else ():
            if any(c.type in ("accessibility_modifier", "readonly", "override_modifier") for c in param.children):
                raise self.refuse(
                    param,
                    "constructor parameter properties (`private x`, `readonly x` in the parameter list) are not "
                    "supported: declare the field in the class body and assign it in the constructor",
                )

    def parameter(self, node: tree_sitter.Node) -> bool:
        first = node.child(0)
        if first is not None and first.type == "this":  # `this: T` exists for the checker only
            following = node.next_sibling
            end = following.end_byte if following is not None and following.type == "," else None
            return self.blank(node, statement=False, end=end)
        return self.tokens(node, "?")

    def enum(self, node: tree_sitter.Node) -> bool:
        raise self.refuse(
            node, "enums are not supported (they are not erasable): use an object, e.g. `const Color = { Red: 'red' }`"
        )

    def namespace(self, node: tree_sitter.Node) -> bool:
        if not _types_only(node):
            raise self.refuse(
                node, "namespaces and modules with values are not supported (they are not erasable): use an object"
            )
        parent = node.parent  # `namespace N {}` parses as an expression statement
        statement = parent if parent is not None and parent.type == "expression_statement" else node
        return self.blank(statement, statement=True)

    def import_statement(self, node: tree_sitter.Node) -> bool:
        if any(c.type == "import_require_clause" for c in node.children):
            raise self.refuse(node, f"`import x = require(...)` is not supported: {_MODULES_HINT}")
        if any(c.type == "type" for c in node.children):  # `import type ...`
            return self.blank(node, statement=True)
        raise self.refuse(node, f"import statements are not supported: {_MODULES_HINT}")

    def import_alias(self, node: tree_sitter.Node) -> bool:
        raise self.refuse(node, f"`import x = ...` aliases are not supported: {_MODULES_HINT}")

    def export_statement(self, node: tree_sitter.Node) -> bool:
        if any(c.type == "=" for c in node.children):
            raise self.refuse(node, f"`export =` is not supported: {_MODULES_HINT}")
        declaration = node.child_by_field_name("declaration")
        type_only = any(c.type == "type" for c in node.children) or (
            declaration is not None and (declaration.type in _TYPE_STATEMENTS or _is_type_module(declaration))
        )
        if not type_only:
            raise self.refuse(node, f"export statements are not supported: {_MODULES_HINT}; use `return` instead")
        return self.blank(node, statement=True)

    def decorator(self, node: tree_sitter.Node) -> bool:
        raise self.refuse(node, "decorators are not supported by the sandbox's JavaScript engine")


def _is_constructor(method: tree_sitter.Node) -> bool:
    name = method.child_by_field_name("name")
    return name is not None and name.text == b"constructor"


def _is_type_module(node: tree_sitter.Node) -> bool:
    target = node.named_children[0] if node.type == "expression_statement" and node.named_children else node
    return target.type in _MODULE_NODES and _types_only(target)


def _types_only(module: tree_sitter.Node) -> bool:
    """Whether a namespace holds nothing but types (then it is erasable)."""
    body = module.child_by_field_name("body")
    for statement in body.named_children if body is not None else ():
        if statement.type == "export_statement":
            declaration = statement.child_by_field_name("declaration")
            if declaration is None:
                return False
            statement = declaration
        if statement.type in _TYPE_STATEMENTS or statement.type in ("empty_statement", "comment"):
            continue
        if not _is_type_module(statement):
            return False
    return True


_HANDLERS: dict[str, Callable[[_Collector, tree_sitter.Node], bool]] = {
    "as_expression": _Collector.tail,
    "satisfies_expression": _Collector.tail,
    "non_null_expression": lambda c, node: c.tokens(node, "!"),
    "variable_declarator": lambda c, node: c.tokens(node, "!"),  # definite assignment `let x!: T`
    "abstract_class_declaration": lambda c, node: c.tokens(node, "abstract"),
    "public_field_definition": _Collector.class_member,
    "method_definition": _Collector.class_member,
    "required_parameter": _Collector.parameter,
    "optional_parameter": _Collector.parameter,
    "enum_declaration": _Collector.enum,
    "internal_module": _Collector.namespace,
    "module": _Collector.namespace,
    "import_statement": _Collector.import_statement,
    "import_alias": _Collector.import_alias,
    "export_statement": _Collector.export_statement,
    "decorator": _Collector.decorator,
    "arrow_function": _Collector.arrow_function,
    "hash_bang_line": lambda c, node: c.blank(node, statement=False),  # legal only at a script's very start
}


def _apply(data: bytes, blanks: list[_Blank]) -> str:
    """Replace each blanked character (not byte) by a space, keeping line breaks."""
    out: list[str] = []
    position = 0
    for blank in sorted(blanks, key=lambda b: b.start):
        if blank.start < position:  # nested in a range already blanked
            continue
        out.append(data[position : blank.start].decode("utf-8"))
        erased = "".join(c if c in _KEEP_CHARS else " " for c in data[blank.start : blank.end].decode("utf-8"))
        if blank.statement and erased:
            erased = ";" + erased[1:]
        if blank.moves_paren:
            erased = erased[:-1] + ")"
        out.append(erased)
        position = blank.end
    out.append(data[position:].decode("utf-8"))
    return "".join(out)
