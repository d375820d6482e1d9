"""Type stripping: every erasable construct becomes spaces in place; the rest is refused with line:col."""

from __future__ import annotations

import pytest

from mcp_guard.codemode.typescript import TypeScriptError, strip_types

# (TypeScript, the JavaScript it becomes with runs of spaces collapsed; the exact layout is checked below)
ERASED = [
    ("let a: number = 1;", "let a = 1;"),
    ("const s: string[] = [];", "const s = [];"),
    ("let b!: string;", "let b ;"),
    ("function f(x: number, y?: string): boolean {}", "function f(x , y ) {}"),
    ("function f(this: Foo, a) {}", "function f( a) {}"),
    ("const g = (a: T): R => a;", "const g = (a ) => a;"),
    ("const g = async <T,>(a: T): Promise<T> => a;", "const g = async (a ) => a;"),
    ("function id<T extends object>(x: T): T { return x; }", "function id (x ) { return x; }"),
    ("const n = f<number>(1);", "const n = f (1);"),
    ("const m = new Map<string, number>();", "const m = new Map ();"),
    ("const h = f<T>;", "const h = f ;"),
    ("const x = y as unknown as string;", "const x = y ;"),
    ("const x = (y as any).z;", "const x = (y ).z;"),
    ("const o = { a: 1 } satisfies Record<string, number>;", "const o = { a: 1 } ;"),
    ("const v = a!.b!;", "const v = a .b ;"),
    ("let t = <any>y;", "let t = y;"),
    ("interface I { a: number }", ";"),
    ("type U = 'a' | 'b';", ";"),
    ("declare const q: number;", ";"),
    ("declare function d(): void;", ";"),
    ("declare enum E { A }", ";"),
    ("function o(a: string): void;\nfunction o(a) {}", "; \nfunction o(a) {}"),
    ("import type { A } from './a';", ";"),
    ("export type { A };", ";"),
    ("export interface E { a: 1 }", ";"),
    ("namespace N { export type X = 1 }", ";"),
    ("abstract class A {}", "class A {}"),
    ("class C<T> extends B<T> implements I, J {}", "class C extends B {}"),
    ("class C { private x?: number = 1; }", "class C { x = 1; }"),
    ("class C { public readonly y!: string; }", "class C { y ; }"),
    ("class C { protected static z = 1; }", "class C { static z = 1; }"),
    ("class C { declare d: string; }", "class C { ; ; }"),
    ("class C { [k: string]: any; }", "class C { ; ; }"),
    ("class C { m(): void; m() {} }", "class C { ; ; m() {} }"),
    ("class C { abstract n(): void; }", "class C { ; ; }"),
    ("class C { override m(): void {} }", "class C { m() {} }"),
    ("class C { m?() {} }", "class C { m () {} }"),
    ("class C { static s<T>(a: T): T { return a; } }", "class C { static s (a ) { return a; } }"),
    ("class C { get v(): number { return 1; } }", "class C { get v() { return 1; } }"),
    ("function g(x: unknown): x is string { return true; }", "function g(x ) { return true; }"),
    ("function a(x: unknown): asserts x { }", "function a(x ) { }"),
    ("const { a, b }: { a: number; b: string } = o;", "const { a, b } = o;"),
    ("for (const x of xs as number[]) {}", "for (const x of xs ) {}"),
]


@pytest.mark.parametrize(("source", "expected"), ERASED, ids=[s for s, _ in ERASED])
def test_type_syntax_is_blanked_in_place(source: str, expected: str) -> None:
    output = strip_types(source)
    assert output.split() == expected.split()
    _assert_same_layout(source, output)


def _assert_same_layout(source: str, output: str) -> None:
    """Same lines, same lengths; every character kept, blanked, or the `;` of an erased statement."""
    assert len(output.splitlines()) == len(source.splitlines())
    for ts_line, js_line in zip(source.splitlines(), output.splitlines(), strict=True):
        assert len(ts_line) == len(js_line)
        assert all(j in (t, " ", ";") for t, j in zip(ts_line, js_line, strict=True))


def test_positions_are_kept_for_every_line_and_non_ascii_text() -> None:
    source = (
        "interface Repo {\n  name: string; // é\n}\n"
        "const naïve: Array<Repo> = [] as Repo[];\n"
        "const emoji = '😀' as string; const after: number = 1;\n"
    )
    output = strip_types(source)
    _assert_same_layout(source, output)
    assert output.splitlines()[4].index("after") == source.splitlines()[4].index("after")


def test_a_blanked_statement_cannot_merge_with_its_neighbours() -> None:
    output = strip_types("let x = 1\ninterface I {}\n(x)")
    assert output == "let x = 1\n;" + " " * 13 + "\n(x)"


def test_an_arrow_return_type_spanning_lines_takes_the_paren_along() -> None:
    # JavaScript allows no line break between `)` and `=>`: the `)` moves to the annotation's end
    source = "const f = async (x: number): Promise<\n  number\n> => x + 1;\nconst g = (a: string): string => a;"
    output = strip_types(source)
    assert output.splitlines() == [
        "const f = async (x" + " " * 19,
        " " * 8,
        ") => x + 1;",
        "const g = (a        )         => a;",
    ]


@pytest.mark.anyio
async def test_an_arrow_return_type_spanning_lines_runs() -> None:
    from mcp_guard.codemode import execute

    program = "const f = (x: number): {\n  doubled: number\n} => ({ doubled: x * 2 });\nreturn f(21);"
    result = await execute(program, servers={}, call_tool=None)  # type: ignore[arg-type]  # no tools used
    assert result.ok and result.value == {"doubled": 42}, result.error


def test_plain_javascript_is_unchanged() -> None:
    source = (
        "const a = [1, 2].map((x) => x * 2);\nreturn a?.length ?? 0;\nclass K { #p = 1; get p() { return this.#p; } }"
    )
    assert strip_types(source) == source


def test_deeply_nested_code_does_not_exhaust_python_recursion() -> None:
    source = "const x = " + "(" * 3000 + "1" + ")" * 3000 + ";"
    assert strip_types(source) == source


# (source, kind, line, column, part of the message)
ERRORS = [
    ("enum Color { Red }", "unsupported-typescript", 1, 1, "enums are not supported"),
    ("const a = 1;\n  const enum E { A }", "unsupported-typescript", 2, 3, "enums are not supported"),
    ("namespace N { export const v = 1; }", "unsupported-typescript", 1, 1, "namespaces and modules with values"),
    ("module M { const x = 1; }", "unsupported-typescript", 1, 1, "namespaces and modules with values"),
    ("class K {\n  constructor(private p: number) {}\n}", "unsupported-typescript", 2, 15, "parameter properties"),
    ("class K {\n  constructor(a, readonly b: string) {}\n}", "unsupported-typescript", 2, 18, "parameter properties"),
    ("import x = require('x');", "unsupported-typescript", 1, 1, "`import x = require(...)` is not supported"),
    ("import A = N.B;", "unsupported-typescript", 1, 1, "aliases are not supported"),
    ("let q = 1;\nexport = q;", "unsupported-typescript", 2, 1, "`export =` is not supported"),
    ("import { a } from 'b';", "unsupported-typescript", 1, 1, "import statements are not supported"),
    ("import * as fs from 'fs';", "unsupported-typescript", 1, 1, "import statements are not supported"),
    ("export const e = 1;", "unsupported-typescript", 1, 1, "export statements are not supported"),
    ("export default 1;", "unsupported-typescript", 1, 1, "export statements are not supported"),
    ("@sealed class X {}", "unsupported-typescript", 1, 1, "decorators are not supported"),
    ("let x = 1 2 3;", "syntax", 1, 11, "unexpected '2 3'"),
    ("const a = foo(1, 2;\nreturn a", "syntax", 1, 19, "expected ')'"),
    ("const ok = 1;\nconst b = ok +* 2;", "syntax", 2, 14, "unexpected '+'"),
    ("const é = 'ü';\nlet x: = 3", "syntax", 2, 8, "unexpected '='"),
    ("const s = `abc", "syntax", 1, 11, "unexpected '`'"),
    ("const x = {\n  a: 1,\n", "syntax", 1, 1, "the program ends before 'const x = {' (starting here) is complete"),
    ("if (a) {\n  b()\n}}\n", "syntax", 3, 2, "unexpected '}'"),
]


@pytest.mark.parametrize(("source", "kind", "line", "column", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_refusals_and_parse_errors_give_line_and_column(
    source: str, kind: str, line: int, column: int, message: str
) -> None:
    with pytest.raises(TypeScriptError) as caught:
        strip_types(source)
    assert (caught.value.kind, caught.value.line, caught.value.column) == (kind, line, column)
    assert message in caught.value.message
    assert f"line {line}, column {column}" in str(caught.value)


def test_the_module_refusals_say_why_there_are_no_modules() -> None:
    with pytest.raises(TypeScriptError, match="no modules in the sandbox"):
        strip_types("import { readFile } from 'fs';")


def test_columns_count_characters_not_bytes() -> None:
    with pytest.raises(TypeScriptError) as caught:
        strip_types("const ü = 'ä'; enum E { A }")
    assert caught.value.column == 16
