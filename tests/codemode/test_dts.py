"""`.d.ts` generation from tool schemas: shapes, docs, names, and files that are valid TypeScript."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest

from mcp_guard.catalog import CatalogEntry
from mcp_guard.codemode import binding_names, file_name, tool_files
from mcp_guard.codemode.schema_ts import TypeWriter
from mcp_guard.codemode.typescript import parse
from mcp_guard.names import ToolRef
from tests.support.node import ensure_node_modules

TSC_CANDIDATES = [
    os.environ.get("MCP_GUARD_TSC", ""),
    str(Path(__file__).resolve().parents[1] / "node" / "node_modules" / "typescript" / "bin" / "tsc"),
]


def entry(
    server: str,
    tool: str,
    input_schema: dict[str, Any],
    output_schema: dict[str, Any] | None = None,
    description: str = "",
    annotations: types.ToolAnnotations | None = None,
) -> CatalogEntry:
    spec = types.Tool(
        name=tool,
        description=description,
        input_schema=input_schema,
        output_schema=output_schema,
        annotations=annotations,
    )
    return CatalogEntry(ToolRef(server, tool), f"{server}__{tool}", spec)


SEARCH_INPUT = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "description": "Search query in GitHub syntax."},
        "page": {"type": "integer", "default": 1, "minimum": 1},
        "sort": {"type": "string", "enum": ["stars", "forks", "updated"]},
        "owner": {"type": "object", "properties": {"login": {"type": "string"}}, "required": ["login"]},
        "topics": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["query"],
}
SEARCH_OUTPUT = {
    "type": "object",
    "properties": {
        "total_count": {"type": "integer"},
        "items": {"type": "array", "items": {"$ref": "#/$defs/Repo"}},
    },
    "required": ["total_count", "items"],
    "$defs": {
        "Repo": {
            "type": "object",
            "properties": {
                "full_name": {"type": "string"},
                "stargazers_count": {"type": "integer"},
                "fork_of": {"anyOf": [{"$ref": "#/$defs/Repo"}, {"type": "null"}]},
            },
            "required": ["full_name", "stargazers_count"],
        }
    },
}
ISSUE_INPUT = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "description": "Issue title.\nKeep it short: */ is escaped."},
        "labels": {"type": ["array", "null"], "items": {"type": "string"}},
        "state": {"const": "open"},
        "meta": {"type": "object", "additionalProperties": {"type": "number"}},
        "assignee": {
            "oneOf": [
                {"type": "string"},
                {"type": "object", "title": "team", "properties": {"id": {"type": "integer"}}},
            ]
        },
        "both": {
            "allOf": [{"$ref": "#/definitions/Base"}, {"type": "object", "properties": {"extra": {"type": "boolean"}}}]
        },
        "due-date": {"type": "string", "format": "date", "nullable": True, "deprecated": True},
        "weird": {"not": {"type": "string"}},
    },
    "required": ["title"],
    "definitions": {"Base": {"type": "object", "properties": {"base": {"type": "string"}}}},
}

ENTRIES = [
    entry("github", "search_repositories", SEARCH_INPUT, SEARCH_OUTPUT, "Search repositories."),
    entry("github", "create_issue", ISSUE_INPUT, None, "Open an issue.", types.ToolAnnotations(destructive_hint=True)),
    entry(
        "github",
        "get_me",
        {"type": "object", "properties": {}},
        None,
        "Who am I?",
        types.ToolAnnotations(read_only_hint=True),
    ),
    entry("web-search", "search", {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}),
    entry(
        "web-search", "fetch-page", {"type": "object"}, {"type": "object", "properties": {"html": {"type": "string"}}}
    ),
]


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return tool_files(ENTRIES)


def test_one_file_per_server_named_after_it(files: dict[str, str]) -> None:
    assert list(files) == ["servers/github.d.ts", "servers/web-search.d.ts"]
    assert file_name("web-search") == "servers/web-search.d.ts"


def test_each_file_declares_one_server_global_with_a_method_per_tool(files: dict[str, str]) -> None:
    github = files["servers/github.d.ts"]
    assert github.count("declare const ") == 1
    assert "declare const github: {" in github
    assert "createIssue(args: Github.CreateIssueInput): Promise<unknown>;" in github
    assert "getMe(args?: {}): Promise<unknown>;" in github
    assert "declare const webSearch: {" in files["servers/web-search.d.ts"]
    web = files["servers/web-search.d.ts"]
    assert "fetchPage(args?: WebSearch.FetchPageInput): Promise<WebSearch.FetchPageOutput>;" in web
    assert "  type FetchPageInput = { [key: string]: unknown };" in web


def test_the_header_maps_every_method_to_its_tool_reference(files: dict[str, str]) -> None:
    github = files["servers/github.d.ts"]
    first = github.splitlines()[0]
    assert first.startswith('// MCP server "github": 3 tools, methods of the global `github`:')
    for method, ref in [
        ("createIssue", "github/create_issue"),
        ("getMe", "github/get_me"),
        ("searchRepositories", "github/search_repositories"),
    ]:
        assert any(line.startswith("//") and method in line and line.endswith(ref) for line in github.splitlines())
    assert "fetchPage  →  web-search/fetch-page" in files["servers/web-search.d.ts"]


def test_an_output_schema_becomes_a_typed_return_value(files: dict[str, str]) -> None:
    github = files["servers/github.d.ts"]
    assert (
        "searchRepositories(args: Github.SearchRepositoriesInput): Promise<Github.SearchRepositoriesOutput>;" in github
    )
    assert "  interface SearchRepositoriesOutput {\n    total_count: number;\n    items: Repo[];\n  }" in github


def test_refs_into_defs_become_named_and_recursive_types(files: dict[str, str]) -> None:
    github = files["servers/github.d.ts"]
    assert (
        "  interface Repo {\n    full_name: string;\n    stargazers_count: number;\n    fork_of?: Repo | null;\n  }"
        in github
    )
    assert "both?: Base & CreateIssueInputBothOption2;" in github
    assert "  interface Base {\n    base?: string;\n  }" in github


def test_nested_objects_arrays_enums_and_optionality(files: dict[str, str]) -> None:
    github = files["servers/github.d.ts"]
    assert "    query: string;" in github
    assert '    sort?: "stars" | "forks" | "updated";' in github
    assert "    owner?: SearchRepositoriesInputOwner;" in github
    assert "  interface SearchRepositoriesInputOwner {\n    login: string;\n  }" in github
    assert "    topics?: string[];" in github
    assert "    labels?: string[] | null;" in github
    assert '    state?: "open";' in github
    assert "    meta?: { [key: string]: number };" in github
    assert "    assignee?: string | CreateIssueInputAssigneeTeam;" in github
    assert '    "due-date"?: string | null;' in github
    assert "    weird?: unknown;" in github


def test_descriptions_defaults_formats_and_hints_become_doc_comments(files: dict[str, str]) -> None:
    github = files["servers/github.d.ts"]
    assert "    /** Search query in GitHub syntax. */\n    query: string;" in github
    assert "     * @default 1\n     * @constraint minimum 1\n     */\n    page?: number;" in github
    assert "Keep it short: *\\/ is escaped." in github
    assert "     * @format date\n     * @deprecated\n" in github
    assert "   * Open an issue.\n   * @destructive (changes or deletes data)\n" in github
    assert "   * Who am I?\n   * @readonly (does not change anything)\n" in github


def test_identical_definitions_are_shared_and_clashing_ones_renamed() -> None:
    writer = TypeWriter()
    same = {"type": "object", "properties": {"id": {"type": "integer"}}}
    other = {"type": "object", "properties": {"name": {"type": "string"}}}
    first = writer.render({"$ref": "#/$defs/Item", "$defs": {"Item": same}}, "AInput")
    second = writer.render({"$ref": "#/$defs/Item", "$defs": {"Item": same}}, "BInput")
    third = writer.render({"$ref": "#/$defs/Item", "$defs": {"Item": other}}, "CInput")
    assert (first, second, third) == ("Item", "Item", "CInputItem")
    assert writer.render({"$ref": "https://example.com/schema"}, "D") == "unknown"
    assert (
        writer.render({"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}]}, "E")
        == "[string, number]"
    )
    assert writer.render(False, "F") == "never"


def test_bindings_are_valid_deterministic_and_collision_free() -> None:
    servers = binding_names(["web-search", "web_search", "github", "1password", "console", "---"])
    assert servers["github"] == "github"
    assert servers["1password"] == "_1password"
    assert servers["console"] == "console_"
    assert servers["web-search"] != servers["web_search"]
    assert all(name.startswith("webSearch_") for name in (servers["web-search"], servers["web_search"]))
    assert servers == binding_names(reversed(list(servers)))
    tools = binding_names(["search_repositories", "then", "get-user", "getUser", "delete"], kind="tool")
    assert tools["search_repositories"] == "searchRepositories"
    assert tools["then"] == "then_"
    assert tools["delete"] == "delete_"
    assert tools["get-user"] != tools["getUser"]
    for ident in [*servers.values(), *tools.values()]:
        assert ident.isidentifier()


def test_generated_files_parse_as_typescript_without_errors(files: dict[str, str]) -> None:
    for name, text in files.items():
        tree = parse(text)
        assert not tree.root_node.has_error, name


@pytest.mark.node
def test_generated_files_type_check_with_tsc(files: dict[str, str], tmp_path: Path) -> None:
    ensure_node_modules()  # typescript is pinned in tests/node
    tsc = next(c for c in TSC_CANDIDATES if c and Path(c).exists())
    for name, text in files.items():
        (tmp_path / Path(name).name).write_text(text)
    (tmp_path / "usage.ts").write_text(
        "async function main(): Promise<number> {\n"
        "  const found = await github.searchRepositories({ query: 'mcp', sort: 'stars' });\n"
        "  const names: string[] = found.items.map((r: Github.Repo) => r.full_name);\n"
        "  await github.createIssue({ title: 'x', labels: null, both: { base: 'b', extra: true } });\n"
        "  const page = await webSearch.fetchPage({ url: 'https://example.com' });\n"
        "  return names.length + found.total_count + (page.html?.length ?? 0);\n"
        "}\nvoid main;\n"
    )
    sources = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run(
        ["node", tsc, "--noEmit", "--strict", "--lib", "es2022", *sources], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


SAMPLE_PROGRAMS = {
    "errors_and_console.ts": """
        try {
          await github.createIssue({ title: "x" });
        } catch (e) {
          if (e instanceof ToolError && e.kind === "limit") console.warn("over", e.limit ?? "?", e.server, e.tool);
          else if (e instanceof ToolError) console.error(e.kind, e.message);
          else throw e;
        }
        return null;
    """,
    "timers.ts": """
        const ticks: number[] = [];
        await new Promise<void>((resolve) => setTimeout(() => { ticks.push(1); resolve(); }, 10));
        const id = setTimeout((n: number) => ticks.push(n), 5, 2);
        clearTimeout(id);
        console.log(ticks.length);
        return ticks.toSorted((a, b) => a - b);
    """,
    "resources_and_prompts.ts": """
        const page = await resources.list();
        const more = page.nextCursor ? (await resources.list(page.nextCursor)).resources : [];
        const texts = (await resources.read(page.resources[0].uri)).contents.map((c) => c.text ?? c.blob ?? "");
        const templates = (await resources.templates()).resourceTemplates.map((t) => t.uriTemplate);
        const prompt = await prompts.get("git__review", { pr: "12" });
        const roles = prompt.messages.map((m) => m.role);
        const names = (await prompts.list()).prompts.map((p) => [p.name, p.arguments?.length ?? 0]);
        return { more: more.length, texts, templates, roles, names };
    """,
}
WRONG_PROGRAMS = {
    "wrong_kind.ts": 'try { await github.getMe(); } catch (e) { if (e instanceof ToolError && e.kind === "denyd") {} }',
    "wrong_console.ts": "console.print('x');",
    "wrong_timer.ts": "setTimeout('globalThis.x = 1', 10);",
    "wrong_limit_type.ts": "const e = new ToolError('x'); const n: number = e.limit;",
    "wrong_server.ts": "await githb.getMe();",
    "wrong_prompt_arguments.ts": 'await prompts.get("git__review", { pr: 12 });',
    "wrong_resource_read.ts": "await resources.read({ uri: 'x' });",
}


def test_sandbox_globals_and_sample_programs_type_check_and_wrong_ones_do_not(
    files: dict[str, str], tmp_path: Path
) -> None:
    from mcp_guard.codemode.discovery import globals_declarations

    ensure_node_modules()
    tsc = next(c for c in TSC_CANDIDATES if c and Path(c).exists())
    declarations = [tmp_path / "globals.d.ts"]
    declarations[0].write_text(globals_declarations())
    for name, text in files.items():
        declarations.append(tmp_path / Path(name).name)
        declarations[-1].write_text(text)

    def check(programs: dict[str, str]) -> subprocess.CompletedProcess[str]:
        for name, body in programs.items():  # a program is the body of an async function
            (tmp_path / name).write_text(f"export {{}};\nasync function program() {{\n{body}\n}}\nvoid program;\n")
        sources = [str(p) for p in declarations] + [str(tmp_path / name) for name in programs]
        argv = ["node", tsc, "--noEmit", "--strict", "--lib", "es2023", *sources]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    good = check(SAMPLE_PROGRAMS)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = check(WRONG_PROGRAMS)
    assert bad.returncode != 0
    for name in WRONG_PROGRAMS:
        assert f"{name}(3," in bad.stdout, (name, bad.stdout)  # line 3: the program's own line
