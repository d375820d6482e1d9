"""The three meta-tools: their definitions, and listing and reading the virtual files."""

from __future__ import annotations

import pytest

from mcp_guard.codemode import (
    EXECUTE_TOOL_CODE,
    LIST_TOOL_FILES,
    META_TOOL_NAMES,
    READ_TOOL_FILE,
    CodeModeSettings,
    MetaToolError,
    answer_file_tool,
    code_argument,
    list_tool_files,
    meta_tools,
    read_tool_file,
)

FILES = {
    "servers/github.d.ts": (
        '// MCP server "github": 2 tools, methods of the global `github`: a, b\nline 2\nline 3\nline 4\n'
    ),
    "servers/filesystem.d.ts": '// MCP server "filesystem": 1 tool, methods of the global `filesystem`: readFile\nx\n',
}


def test_three_meta_tools_with_workflow_descriptions_and_strict_inputs() -> None:
    tools = meta_tools()
    assert [t.name for t in tools] == [LIST_TOOL_FILES, READ_TOOL_FILE, EXECUTE_TOOL_CODE]
    assert {t.name for t in tools} == META_TOOL_NAMES
    listing, reading, executing = tools
    assert "step 1" in (listing.description or "") and "step 2" in (reading.description or "")
    assert "step 3" in (executing.description or "") and "Promise.all" in (executing.description or "")
    assert reading.input_schema["required"] == ["fileName"]
    assert executing.input_schema["required"] == ["code"]
    for tool in tools:
        assert tool.input_schema["additionalProperties"] is False
    assert listing.annotations is not None and listing.annotations.read_only_hint


def test_the_execute_description_states_the_configured_limits() -> None:
    text = meta_tools(CodeModeSettings(timeout_seconds=5, max_tool_calls=7))[2].description or ""
    assert "Limits: 5 s, 64 MB, 7 tool calls." in text


def test_listing_gives_one_line_per_file_from_its_header() -> None:
    assert list_tool_files(FILES).splitlines() == [
        "2 files; read the ones you need with readToolFile:",
        'servers/filesystem.d.ts (2 lines): MCP server "filesystem": 1 tool, methods of the global `filesystem`: '
        "readFile",
        'servers/github.d.ts (4 lines): MCP server "github": 2 tools, methods of the global `github`: a, b',
    ]
    assert list_tool_files({}) == "No tool files: no tools are available to your code."


def test_reading_a_whole_file_or_a_line_range() -> None:
    assert read_tool_file(FILES, "servers/github.d.ts").splitlines()[0] == "// servers/github.d.ts, lines 1-4 of 4"
    assert read_tool_file(FILES, "servers/github.d.ts", 2, 3).splitlines() == [
        "// servers/github.d.ts, lines 2-3 of 4",
        "line 2",
        "line 3",
    ]
    assert read_tool_file(FILES, "servers/github.d.ts", 3, 99).splitlines()[1:] == ["line 3", "line 4"]


@pytest.mark.parametrize("name", ["github", "github.d.ts", "servers/github", " servers/github.d.ts"])
def test_forgiving_file_names(name: str) -> None:
    assert read_tool_file(FILES, name).startswith("// servers/github.d.ts")


@pytest.mark.parametrize(
    ("name", "start", "end", "message"),
    [
        (
            "servers/gitlab.d.ts",
            None,
            None,
            "unknown file 'servers/gitlab.d.ts'; available: servers/filesystem.d.ts, servers/github.d.ts",
        ),
        ("github", 0, None, "startLine 0 is outside 'servers/github.d.ts', which has 4 lines"),
        ("github", 9, None, "startLine 9 is outside"),
        ("github", 3, 2, "endLine 2 is before startLine 3"),
    ],
)
def test_reading_errors_name_the_problem(name: str, start: int | None, end: int | None, message: str) -> None:
    with pytest.raises(MetaToolError, match=message.replace("(", r"\(")):
        read_tool_file(FILES, name, start, end)


def test_answering_calls_checks_the_arguments() -> None:
    assert answer_file_tool(LIST_TOOL_FILES, None, FILES) == list_tool_files(FILES)
    assert answer_file_tool(READ_TOOL_FILE, {"fileName": "github", "startLine": 2, "endLine": 2}, FILES).endswith(
        "line 2"
    )
    with pytest.raises(MetaToolError, match="needs fileName"):
        answer_file_tool(READ_TOOL_FILE, {}, FILES)
    with pytest.raises(MetaToolError, match="startLine must be a whole number, got '2'"):
        answer_file_tool(READ_TOOL_FILE, {"fileName": "github", "startLine": "2"}, FILES)
    with pytest.raises(MetaToolError, match="is not 'listToolFiles' or 'readToolFile'"):
        answer_file_tool("executeToolCode", {}, FILES)
    assert code_argument({"code": "return 1"}) == "return 1"
    with pytest.raises(MetaToolError, match="needs code"):
        code_argument({"code": "   "})
