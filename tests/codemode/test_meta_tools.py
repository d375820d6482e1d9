"""The meta-tools: their definitions, and the checking of the arguments clients send them."""

from __future__ import annotations

import pytest

from mcp_guard.codemode import (
    CLASSIC_SEARCH_TOOL,
    EXECUTE_TOOL_CODE,
    LIST_TOOL_FILES,
    META_TOOL_NAMES,
    READ_TOOL_FILE,
    SEARCH_TOOLS,
    CodeModeSettings,
    MetaToolError,
    ReadRequest,
    SearchRequest,
    classic_search_tool,
    code_argument,
    meta_tools,
    read_request,
    read_tool_file,
    search_request,
)

FILES = {"servers/github.d.ts": "line 1\nline 2\nline 3\nline 4\n"}


def test_four_meta_tools_with_workflow_descriptions_and_strict_inputs() -> None:
    tools = meta_tools()
    assert [t.name for t in tools] == [LIST_TOOL_FILES, SEARCH_TOOLS, READ_TOOL_FILE, EXECUTE_TOOL_CODE]
    assert {t.name for t in tools} == META_TOOL_NAMES
    listing, searching, reading, executing = tools
    assert "step 1" in (searching.description or "") and "step 2" in (reading.description or "")
    assert "step 3" in (executing.description or "") and "Promise.all" in (executing.description or "")
    assert searching.input_schema["required"] == ["query"]
    assert reading.input_schema["required"] == ["fileName"]
    assert reading.input_schema["properties"]["detail"]["enum"] == ["names", "signatures", "full"]
    assert executing.input_schema["required"] == ["code"]
    for tool in tools:
        assert tool.input_schema["additionalProperties"] is False
    assert listing.annotations is not None and listing.annotations.read_only_hint
    assert executing.annotations is None


def test_the_classic_search_tool_takes_a_query_and_a_limit() -> None:
    tool = classic_search_tool()
    assert tool.name == CLASSIC_SEARCH_TOOL == "search_tools"
    assert set(tool.input_schema["properties"]) == {"query", "limit"}
    assert "call them by their name" in (tool.description or "")


def test_the_execute_description_states_the_configured_limits() -> None:
    text = meta_tools(CodeModeSettings(timeout_seconds=5, max_tool_calls=7))[3].description or ""
    assert "Limits: 5 s, 64 MB, 7 tool calls." in text


def test_reading_a_whole_file_or_a_line_range() -> None:
    assert read_tool_file(FILES, "servers/github.d.ts").splitlines()[0] == "// servers/github.d.ts, lines 1-4 of 4"
    assert read_tool_file(FILES, "servers/github.d.ts", 2, 3).splitlines() == [
        "// servers/github.d.ts, lines 2-3 of 4",
        "line 2",
        "line 3",
    ]
    assert read_tool_file(FILES, "servers/github.d.ts", 3, 99).splitlines()[1:] == ["line 3", "line 4"]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (0, None, "startLine 0 is outside 'servers/github.d.ts', which has 4 lines"),
        (9, None, "startLine 9 is outside"),
        (3, 2, "endLine 2 is before startLine 3"),
    ],
)
def test_line_range_errors_name_the_problem(start: int | None, end: int | None, message: str) -> None:
    with pytest.raises(MetaToolError, match=message):
        read_tool_file(FILES, "servers/github.d.ts", start, end)


def test_read_arguments_are_checked() -> None:
    assert read_request({"fileName": "github"}) == ReadRequest("github")
    assert read_request(
        {"fileName": "github", "detail": "names", "methods": ["createIssue"], "startLine": 2, "endLine": 3}
    ) == ReadRequest("github", "names", ("createIssue",), 2, 3)
    with pytest.raises(MetaToolError, match="needs fileName"):
        read_request({})
    with pytest.raises(MetaToolError, match="startLine must be a whole number, got '2'"):
        read_request({"fileName": "github", "startLine": "2"})
    with pytest.raises(MetaToolError, match="detail must be one of names, signatures, full, got 'all'"):
        read_request({"fileName": "github", "detail": "all"})
    with pytest.raises(MetaToolError, match="methods must be a list of method names"):
        read_request({"fileName": "github", "methods": "createIssue"})


def test_search_arguments_are_checked() -> None:
    assert search_request({"query": "create issue"}) == SearchRequest("create issue", 5, "signatures")
    assert search_request({"query": "x", "limit": 20, "detail": "full"}) == SearchRequest("x", 20, "full")
    with pytest.raises(MetaToolError, match="searchTools needs query"):
        search_request({"query": "  "})
    with pytest.raises(MetaToolError, match="search_tools needs query"):
        search_request({}, CLASSIC_SEARCH_TOOL)
    with pytest.raises(MetaToolError, match="limit must be between 1 and 20, got 21"):
        search_request({"query": "x", "limit": 21})
    with pytest.raises(MetaToolError, match="longer than 500 characters"):
        search_request({"query": "x" * 501})


def test_code_argument() -> None:
    assert code_argument({"code": "return 1"}) == "return 1"
    with pytest.raises(MetaToolError, match="needs code"):
        code_argument({"code": "   "})
