"""`execute`: error kinds and positions, the call contract, concurrency and the text for the model."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import mcp_types as types
import pydantic
import pytest

from mcp_guard.codemode import (
    CodeModeSettings,
    ExecutionResult,
    ToolCallError,
    ToolOutcome,
    execute,
    format_for_model,
)
from mcp_guard.errors import BadRequest, BudgetExceeded, NotAllowed, RateLimited, UpstreamError, UpstreamTimeout

from .fakes import FakeBackend

pytestmark = pytest.mark.anyio


async def test_runtime_errors_point_into_the_original_typescript() -> None:
    program = (
        "interface Repo { name: string }\n"
        "const repos: Array<Repo> = [] as Repo[];\n"
        "const label: string = '😀 é'; const n: number = (repos[0] as Repo).name.length;\n"
    )
    result = await FakeBackend().run(program)
    assert result.error is not None
    assert result.error.kind == "runtime"
    assert result.error.message == "TypeError: Cannot read properties of undefined (reading 'name')"
    line = program.splitlines()[2]  # the emoji is 2 UTF-16 units in V8 but 1 character here
    assert (result.error.line, result.error.column) == (3, line.index(".name") + 2)


async def test_errors_thrown_by_the_program_keep_their_name_and_position() -> None:
    result = await FakeBackend().run("const x = 1;\n\n    throw new RangeError(`bad ${x}`);")
    assert result.error is not None
    assert (result.error.kind, result.error.message) == ("runtime", "RangeError: bad 1")
    assert (result.error.line, result.error.column) == (3, 11)


async def test_a_thrown_non_error_value_is_described() -> None:
    result = await FakeBackend().run("throw { code: 42 };")
    assert result.error is not None
    assert result.error.message == 'Error: a non-Error value was thrown: {"code":42}'


async def test_syntax_errors_from_the_parser_and_from_v8_both_carry_positions() -> None:
    # the TypeScript parser notices first; V8, given the same text, says exactly where
    parser = await FakeBackend().run("const a: number = 1;\nconst b = (a +;")
    assert parser.error is not None
    assert (parser.error.kind, parser.error.message) == ("syntax", "SyntaxError: Unexpected token ';'")
    assert (parser.error.line, parser.error.column) == (2, 15)
    breakout = await FakeBackend().run("});\nwhile (true) {}\n(async function () {")
    assert breakout.error is not None and breakout.error.kind == "syntax"
    v8 = await FakeBackend().run("const ok = 1;\nfunction f() {\n  await ok;\n}")
    assert v8.error is not None
    assert v8.error.kind == "syntax"
    assert v8.error.message.startswith("SyntaxError: await is only valid in async functions")
    assert (v8.error.line, v8.error.column) == (3, 3)


async def test_unsupported_typescript_is_reported_before_anything_runs() -> None:
    backend = FakeBackend()
    result = await backend.run("await webSearch.echo({});\nenum Color { Red }")
    assert result.error is not None
    assert (result.error.kind, result.error.line, result.error.column) == ("unsupported-typescript", 2, 1)
    assert backend.calls == []
    assert "erasable" in (result.error.hint or "")


async def test_an_oversized_program_is_refused() -> None:
    result = await FakeBackend().run("// " + "x" * 2000, max_code_bytes=1024)
    assert result.error is not None and result.error.kind == "limit"


async def test_arguments_must_be_one_json_object() -> None:
    for program, fragment in [
        (
            "await webSearch.echo('text')",
            "webSearch.echo() takes one object argument with the tool's input, got string",
        ),
        ("await webSearch.echo([1])", "got an array"),
        ("await webSearch.echo({ n: 1n })", "the arguments are not JSON-serialisable"),
    ]:
        result = await FakeBackend().run(program)
        assert result.error is not None and result.error.kind == "runtime"
        assert fragment in result.error.message


async def test_a_return_value_that_is_not_json_is_a_runtime_error() -> None:
    result = await FakeBackend().run("return { n: 1n };")
    assert result.error is not None
    assert result.error.kind == "runtime"
    assert "not JSON-serialisable" in result.error.message


async def test_three_slow_calls_under_promise_all_run_concurrently() -> None:
    started = time.perf_counter()
    result = await FakeBackend().run(
        "const r = await Promise.all([1, 2, 3].map((tag) => webSearch.slowSearch({ seconds: 0.2, tag })));\n"
        "return r.map((x: any) => x.tag);"
    )
    elapsed = time.perf_counter() - started
    assert result.value == [1, 2, 3]
    assert elapsed < 0.5
    assert all(call.duration_ms >= 190 for call in result.calls)


async def test_executions_in_parallel_contexts_do_not_interfere() -> None:
    backend = FakeBackend()

    async def one(tag: int) -> ExecutionResult:
        return await backend.run(
            f"(globalThis as any).mine = {tag};\n"
            f"await webSearch.slowSearch({{ seconds: 0.05 * {tag % 3}, tag: {tag} }});\n"
            "return (globalThis as any).mine;"
        )

    results = await asyncio.gather(*(one(tag) for tag in range(8)))
    assert [r.value for r in results] == list(range(8))


async def test_an_is_error_result_is_thrown_as_an_upstream_tool_error() -> None:
    result = await FakeBackend().run(
        "try { await filesystem.readFile({ path: '/nope' }); } catch (e) {\n"
        "  const err = e as ToolError;\n  return [err.name, err.kind, err.server, err.tool, err.message];\n}"
    )
    assert result.value == [
        "ToolError",
        "upstream",
        "filesystem",
        "read_file",
        "filesystem/read_file: ENOENT: no such file '/nope'",
    ]
    assert result.calls[0].ok is False
    assert result.calls[0].error == "upstream: ENOENT: no such file '/nope'"


async def test_a_tool_value_that_is_not_json_fails_that_call() -> None:
    async def nan(server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        return ToolOutcome(value=float("nan"))

    result = await execute("return await m.t({});", servers={"m": ["t"]}, call_tool=nan)
    assert result.error is not None and result.error.kind == "upstream"
    assert "could not be converted to JSON" in result.error.message


async def test_calls_still_running_when_the_program_returns_are_cancelled_and_recorded() -> None:
    backend = FakeBackend()
    result = await backend.run(
        "webSearch.slowSearch({ seconds: 5 });\nawait webSearch.echo({});\nwebSearch.echo({ never: 'started' });\n"
        "return 'early';"
    )
    assert result.value == "early"
    assert [(c.tool, c.ok) for c in result.calls] == [("slow_search", False), ("echo", True)]
    assert result.calls[0].error is not None and "cancelled" in result.calls[0].error
    assert result.duration_ms < 2000
    assert [c[2] for c in backend.calls if c[1] == "echo"] == [{}]  # a call queued at the return never starts


def test_tool_outcomes_from_mcp_results_follow_the_documented_rule() -> None:
    text = types.TextContent(type="text", text='{"a": [1]}')
    assert ToolOutcome.from_result(types.CallToolResult(content=[text])).value == {"a": [1]}
    plain = types.TextContent(type="text", text="42 apples")
    assert ToolOutcome.from_result(types.CallToolResult(content=[plain])).value == "42 apples"
    scalar = types.TextContent(type="text", text="42")
    assert ToolOutcome.from_result(types.CallToolResult(content=[scalar])).value == "42"
    structured = types.CallToolResult(content=[text], structured_content={"b": 2})
    assert ToolOutcome.from_result(structured).value == {"b": 2}
    two = types.CallToolResult(content=[plain, types.TextContent(type="text", text="more")])
    assert ToolOutcome.from_result(two).value == "42 apples\nmore"
    image = types.ImageContent(type="image", data="aGVsbG8=", mime_type="image/png")
    assert ToolOutcome.from_result(types.CallToolResult(content=[image])).value == "[image: image/png, 6 bytes]"
    failed = types.CallToolResult(content=[types.TextContent(type="text", text="boom")], is_error=True)
    assert ToolOutcome.from_result(failed) == ToolOutcome(error="boom")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (NotAllowed("no"), "denied"),
        (RateLimited("slow down"), "denied"),
        (BudgetExceeded("broke"), "denied"),
        (BadRequest("bad field"), "denied"),
        (UpstreamError("down"), "upstream"),
        (UpstreamTimeout("late"), "upstream"),
    ],
)
def test_gateway_errors_map_to_denied_or_upstream(error: Any, kind: str) -> None:
    mapped = ToolCallError.from_gateway_error(error)
    assert (mapped.kind, mapped.message, mapped.reason, mapped.fatal) == (kind, error.message, error.reason, False)


async def test_the_summary_and_the_text_for_the_model() -> None:
    result = await FakeBackend().run(
        "console.log('checking');\nconst r = await github.searchRepositories({ query: 'acme' });\n"
        "try { await github.deleteRepository({ full_name: 'acme/legacy' }); } catch {}\n"
        "return { count: r.total_count };"
    )
    text = format_for_model(result)
    lines = text.splitlines()
    assert lines[0].startswith("Execution succeeded (") and lines[0].endswith(" ms, 2 tool calls). Return value:")
    assert lines[1:4] == ['{"count":2}', "Console output:", "checking"]
    assert lines[4] == "Tool calls:"
    assert lines[5].startswith("- github/search_repositories (") and lines[5].endswith(") ok")
    assert lines[6].endswith("failed: denied: role 'developer' may not call github/delete_repository")
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["ok"] is True and data["error"] is None and data["value"] == {"count": 2}


async def test_a_failure_reads_as_kind_position_message_and_hint() -> None:
    result = await FakeBackend().run("const a = 1;\nreturn a.b.c;")
    assert format_for_model(result).splitlines()[1:] == [
        "Error (runtime) at line 2, column 12: TypeError: Cannot read properties of undefined (reading 'c')",
        "Hint: fix the error at that position and run the program again",
    ]
    assert result.to_dict()["error"] == {
        "kind": "runtime",
        "message": "TypeError: Cannot read properties of undefined (reading 'c')",
        "line": 2,
        "column": 12,
        "hint": "fix the error at that position and run the program again",
    }


def test_settings_reject_unknown_fields_and_bad_values() -> None:
    with pytest.raises(pydantic.ValidationError):
        CodeModeSettings(timeout=5)  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError):
        CodeModeSettings(timeout_seconds=0)
    defaults = CodeModeSettings()
    assert (defaults.timeout_seconds, defaults.memory_limit_bytes, defaults.max_tool_calls) == (30.0, 64 << 20, 50)
    assert (defaults.max_result_bytes, defaults.max_log_bytes) == (64 << 10, 64 << 10)
