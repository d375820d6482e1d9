"""A corpus of TypeScript programs, run end to end through `execute` against the fake backend."""

from __future__ import annotations

from typing import Any

import pytest

from .fakes import FakeBackend

pytestmark = pytest.mark.anyio

# (name, program, expected return value)
PROGRAMS: list[tuple[str, str, Any]] = [
    (
        "seed: search repositories, map fields, return a count",
        """
interface Repo { full_name: string; stargazers_count: number }
const result = await github.searchRepositories({ query: "modelcontextprotocol" });
const repos = (result.items as Repo[]).map((r) => ({ name: r.full_name, stars: r.stargazers_count }));
return { count: repos.length, top: repos[0].name };
""",
        {"count": 2, "top": "modelcontextprotocol/servers"},
    ),
    ("arithmetic and return", "const x: number = 6 * 7;\nreturn x;", 42),
    ("no return gives null", "const unused = 1;", None),
    (
        "for loop with accumulation",
        "let total = 0;\nfor (let i: number = 1; i <= 10; i++) { total += i; }\nreturn total;",
        55,
    ),
    ("while and break", "let n = 0;\nwhile (true) { n++; if (n >= 5) break; }\nreturn n;", 5),
    (
        "closures capture their own state",
        """
function counter(): () => number { let c = 0; return () => ++c; }
const a = counter(), b = counter();
a(); a();
return [a(), b()];
""",
        [3, 1],
    ),
    (
        "try/catch around a failing tool call",
        """
try {
  await github.getRepository({ full_name: "nope/nope" });
  return "unreachable";
} catch (e) {
  const err = e as ToolError;
  return { kind: err.kind, isToolError: err instanceof ToolError, message: err.message };
}
""",
        {"kind": "upstream", "isToolError": True, "message": "github/get_repository: repository 'nope/nope' not found"},
    ),
    (
        "try/finally ordering",
        "const seen: string[] = [];\ntry { seen.push('try'); throw new Error('x'); }\ncatch { seen.push('catch'); }\n"
        "finally { seen.push('finally'); }\nreturn seen;",
        ["try", "catch", "finally"],
    ),
    (
        "Promise.all over tool calls",
        """
const names = ["modelcontextprotocol/servers", "acme/mcp-gateway"];
const repos = await Promise.all(names.map((full_name) => github.getRepository({ full_name })));
return repos.map((r: any) => r.stargazers_count);
""",
        [52000, 120],
    ),
    (
        "Promise.allSettled keeps going past a failure",
        """
const results = await Promise.allSettled([
  github.getRepository({ full_name: "acme/legacy" }),
  github.getRepository({ full_name: "missing/repo" }),
]);
return results.map((r) => r.status);
""",
        ["fulfilled", "rejected"],
    ),
    (
        "generic functions",
        """
function first<T>(items: T[]): T | undefined { return items[0]; }
function pair<A, B>(a: A, b: B): [A, B] { return [a, b]; }
return pair(first<number>([3, 2, 1]), first(["x"]));
""",
        [3, "x"],
    ),
    (
        "interfaces and type aliases",
        """
interface Point { x: number; y: number }
type Segment = { from: Point; to: Point };
const s: Segment = { from: { x: 0, y: 0 }, to: { x: 3, y: 4 } };
return Math.hypot(s.to.x - s.from.x, s.to.y - s.from.y);
""",
        5,
    ),
    (
        "as, satisfies and non-null",
        """
const config = { retries: 3 } satisfies Record<string, number>;
const maybe: string | undefined = [\"a\"].find((x) => x === \"a\");
return (maybe!.toUpperCase() as string) + config.retries;
""",
        "A3",
    ),
    (
        "optional chaining and nullish coalescing",
        """
const repo = await github.getRepository({ full_name: "acme/legacy" }) as { language?: string | null };
return [repo?.language ?? "unknown", (repo as any).owner?.login ?? "none"];
""",
        ["unknown", "none"],
    ),
    (
        "object and array destructuring with defaults",
        """
const { total_count: count, items: [firstRepo, ...rest] } = await github.searchRepositories({ query: "acme" });
const { language = "n/a", topics = [] } = (rest[0] ?? {}) as { language?: string | null; topics?: string[] };
return { count, first: firstRepo.full_name, language, topics };
""",
        {"count": 2, "first": "acme/mcp-gateway", "language": None, "topics": []},
    ),
    (
        "classes without parameter properties",
        """
class Stack<T> {
  private items: T[] = [];
  push(item: T): this { this.items.push(item); return this; }
  get size(): number { return this.items.length; }
}
class Named extends Stack<string> {
  readonly label: string;
  constructor(label: string) { super(); this.label = label; }
}
const s = new Named("s").push("a").push("b");
return [s.label, s.size];
""",
        ["s", 2],
    ),
    (
        "abstract class and overloads",
        """
abstract class Shape { abstract area(): number; describe(): string { return `area ${this.area()}`; } }
class Square extends Shape { area(): number { return 4; } }
function double(x: number): number;
function double(x: string): string;
function double(x: any): any { return typeof x === "number" ? x * 2 : x + x; }
return [new Square().describe(), double(2), double("ab")];
""",
        ["area 4", 4, "abab"],
    ),
    (
        "async iteration over tool results",
        """
const paths = await filesystem.listDirectory({ path: "/notes" }) as string[];
const sizes: Record<string, number> = {};
for await (const text of paths.map((p) => filesystem.readFile({ path: `/notes/${p}` }))) {
  sizes[paths[Object.keys(sizes).length]] = (text as string).length;
}
return sizes;
""",
        {"todo.md": 37},
    ),
    (
        "async generator",
        """
async function* countdown(n: number): AsyncGenerator<number> { while (n > 0) yield n--; }
const out: number[] = [];
for await (const v of countdown(3)) out.push(v);
return out;
""",
        [3, 2, 1],
    ),
    (
        "string templates and methods",
        "const who = 'world';\nconst s = `hello ${who.toUpperCase()}, ${[1, 2].join('+')} = ${1 + 2}`;\n"
        "return s.replace('hello', 'hi').padEnd(25, '.');",
        "hi WORLD, 1+2 = 3........",
    ),
    (
        "JSON round trip",
        "const text = JSON.stringify({ a: [1, { b: null }] });\nconst back = JSON.parse(text);\n"
        "return { text, b: back.a[1].b };",
        {"text": '{"a":[1,{"b":null}]}', "b": None},
    ),
    (
        "Map and Set",
        """
const langs = new Map<string, number>();
const { items } = await github.searchRepositories({ query: "" });
for (const r of items as { language: string | null }[]) {
  const key = r.language ?? "none";
  langs.set(key, (langs.get(key) ?? 0) + 1);
}
const unique = new Set([1, 1, 2, 3, 3]);
return { langs: Object.fromEntries(langs), unique: [...unique] };
""",
        {"langs": {"TypeScript": 1, "Python": 2, "none": 1}, "unique": [1, 2, 3]},
    ),
    (
        "sort, filter, reduce",
        """
const { items } = await github.searchRepositories({ query: "" });
const stars = (items as { stargazers_count: number }[]).map((r) => r.stargazers_count);
return { sorted: [...stars].sort((a, b) => a - b), big: stars.filter((s) => s > 100).length,
         sum: stars.reduce((a, b) => a + b, 0) };
""",
        {"sorted": [3, 120, 18000, 52000], "big": 3, "sum": 70123},
    ),
    (
        "write after read across two servers",
        """
const todo = await filesystem.readFile({ path: "/notes/todo.md" }) as string;
const tasks = todo.split("\\n").filter((l) => l.startsWith("- ")).map((l) => l.slice(2));
const created = [];
for (const task of tasks) {
  created.push(await github.createIssue({ title: task, body: "from /notes/todo.md" }));
}
const summary = created.map((i: any) => `#${i.number} ${i.title}`).join("\\n");
await filesystem.writeFile({ path: "/notes/issues.txt", content: summary });
return created.length;
""",
        2,
    ),
    (
        "server aliasing and bracket access",
        """
const gh = github;
const get = gh["getRepository"];
const viaRawName = (github as any)["get_repository"];
const a = await get({ full_name: "acme/legacy" });
const b = await viaRawName({ full_name: "acme/legacy" });
return a.full_name === b.full_name;
""",
        True,
    ),
    (
        "tool without arguments",
        "const listing = await filesystem.listDirectory({ path: '/notes/' });\nreturn listing;",
        ["todo.md"],
    ),
    (
        "console output does not change the value",
        "console.log('start', { n: 1 });\nconsole.warn('careful');\nreturn 'done';",
        "done",
    ),
    ("setTimeout and a promise", "await new Promise<void>((r) => setTimeout(r, 10));\nreturn 'slept';", "slept"),
    (
        "clearTimeout cancels",
        "let fired = false;\nconst id = setTimeout(() => { fired = true; }, 5);\nclearTimeout(id);\n"
        "await new Promise((r) => setTimeout(r, 20));\nreturn fired;",
        False,
    ),
    (
        "labelled loops, switch and ternaries",
        """
let found = "";
outer: for (const a of ["x", "y"]) {
  for (const b of [1, 2]) { if (b === 2) { found = a + b; break outer; } }
}
const kind = (n: number): string => {
  switch (n % 3) { case 0: return "fizz"; default: return n > 4 ? "big" : "small"; }
};
return [found, kind(3), kind(5), kind(1)];
""",
        ["x2", "fizz", "big", "small"],
    ),
    (
        "regular expressions and dates",
        "const m = 'repo-2024-05'.match(/(\\d{4})-(\\d{2})/)!;\nconst d = new Date(Date.UTC(+m[1], +m[2] - 1, 1));\n"
        "return d.toISOString();",
        "2024-05-01T00:00:00.000Z",
    ),
    (
        "spread, rest and default parameters",
        "function sum(base = 10, ...nums: number[]): number { return nums.reduce((a, b) => a + b, base); }\n"
        "const extra = { a: 1 };\nreturn [sum(undefined, 1, 2), { ...extra, b: 2 }];",
        [13, {"a": 1, "b": 2}],
    ),
    (
        "bigint and symbols stay inside",
        "const big = 2n ** 70n;\nconst key = Symbol('k');\nconst o = { [key]: 1 };\n"
        "return [big.toString().length, Object.keys(o).length];",
        [22, 0],
    ),
    (
        "parallel fan-out with a concurrency of two",
        """
const queries = ["a", "b", "c", "d"];
const results: unknown[] = [];
for (let i = 0; i < queries.length; i += 2) {
  const pair = queries.slice(i, i + 2).map((tag) => webSearch.slowSearch({ seconds: 0.01, tag }));
  results.push(...await Promise.all(pair));
}
return results.map((r: any) => r.tag).join("");
""",
        "abcd",
    ),
]


@pytest.mark.parametrize(("name", "program", "expected"), PROGRAMS, ids=[p[0] for p in PROGRAMS])
async def test_program_returns_the_expected_value(name: str, program: str, expected: Any) -> None:
    backend = FakeBackend()
    result = await backend.run(program)
    assert result.error is None, result.error
    assert result.ok
    assert result.value == expected


def test_the_corpus_is_large_enough() -> None:
    assert len(PROGRAMS) >= 30


async def test_write_after_read_changes_the_second_server_and_records_every_call() -> None:
    backend = FakeBackend()
    program = next(p for name, p, _ in PROGRAMS if name == "write after read across two servers")
    result = await backend.run(program)
    assert [i["title"] for i in backend.issues] == ["ship code mode", "write docs"]
    assert backend.files["/notes/issues.txt"] == "#1 ship code mode\n#2 write docs"
    assert [(c.server, c.tool, c.ok) for c in result.calls] == [
        ("filesystem", "read_file", True),
        ("github", "create_issue", True),
        ("github", "create_issue", True),
        ("filesystem", "write_file", True),
    ]
    assert all(c.duration_ms >= 0 for c in result.calls)


async def test_console_lines_are_captured_with_their_level() -> None:
    result = await FakeBackend().run(
        "console.log('a', 1, { b: [2] });\nconsole.info('i');\nconsole.warn('w');\nconsole.error(new TypeError('bad'));"
    )
    assert result.logs == ('a 1 {"b":[2]}', "[info] i", "[warn] w", "[error] TypeError: bad")
