"""The escape and abuse suite: whatever a program tries, it stays inside its context and its limits."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from mcp_guard.codemode import ToolCallError, ToolOutcome, execute, format_for_model

from .fakes import FakeBackend

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "probe",
    [
        "fetch",
        "require",
        "process",
        "module",
        "exports",
        "XMLHttpRequest",
        "WebSocket",
        "Deno",
        "Bun",
        "global",
        "setInterval",
        "SharedArrayBuffer",
        "ArrayBuffer",
        "Uint8Array",
        "Float64Array",
        "BigInt64Array",
        "Float16Array",
        "DataView",
        "Atomics",
        "WebAssembly",
        "FinalizationRegistry",
        "__timer_manager",
    ],
)
async def test_host_and_buffer_globals_are_absent(probe: str) -> None:
    result = await FakeBackend().run(f"return typeof {probe};")
    assert result.value == "undefined"


async def test_no_typed_array_constructor_survives_under_any_name() -> None:
    result = await FakeBackend().run(
        "return Object.getOwnPropertyNames(globalThis).filter((n) => /Array$|Buffer|View$/.test(n));"
    )
    assert result.value == ["Array"]


async def test_require_and_fetch_calls_fail_as_runtime_errors() -> None:
    for program in ("require('fs').readFileSync('/etc/passwd')", "await fetch('http://127.0.0.1/')", "process.exit(1)"):
        result = await FakeBackend().run(program)
        assert result.error is not None and result.error.kind == "runtime"
        assert "is not defined" in result.error.message


async def test_dynamic_import_is_rejected() -> None:
    result = await FakeBackend().run("const fs = await import('fs');\nreturn Object.keys(fs);")
    assert not result.ok
    assert result.error is not None and result.error.kind == "runtime"


@pytest.mark.parametrize(
    "program",
    [
        "return eval('1 + 1')",
        "return new Function('return 1')()",
        "return Function('return this')()",
        "return (() => 0).constructor('return globalThis')()",
        "return ({}).constructor.constructor('return this')()",
        "return [].map.constructor('return 1')()",
        "return Object.getPrototypeOf(async function () {}).constructor('return 1')()",
        "return Object.getPrototypeOf(function* () {}).constructor('yield 1')().next()",
        "return Object.getPrototypeOf(async function* () {}).constructor('yield 1')",
        "return Reflect.construct(Function, ['return 1'])()",
        "return globalThis['ev' + 'al']('1')",
        "setTimeout('globalThis.x = 1', 0)",
    ],
)
async def test_code_generation_from_strings_is_refused(program: str) -> None:
    result = await FakeBackend().run(program)
    assert not result.ok
    assert result.error is not None and result.error.kind == "runtime"


async def test_instanceof_function_still_works_without_the_function_constructor() -> None:
    result = await FakeBackend().run("return [(() => 1) instanceof Function, typeof Function.prototype.call];")
    assert result.value == [True, "function"]


async def test_prototype_pollution_does_not_leak_into_the_next_execution() -> None:
    backend = FakeBackend()
    polluted = await backend.run(
        "Object.prototype.polluted = 'yes';\nArray.prototype.map = () => ['hacked'];\n"
        "JSON.stringify = () => '\"hacked\"';\nglobalThis.leftover = 1;\nPromise.prototype.then = null;\nreturn 1;"
    )
    assert polluted.ok or polluted.error is not None  # whatever it did to itself
    clean = await backend.run(
        "return [typeof ({} as any).polluted, [1, 2].map((x) => x * 2), JSON.stringify({ a: 1 }), typeof leftover];"
    )
    assert clean.value == ["undefined", [2, 4], '{"a":1}', "undefined"]


async def test_server_globals_and_the_runtime_cannot_be_replaced() -> None:
    result = await FakeBackend().run(
        "const attempts: string[] = [];\n"
        "const g = globalThis as any;\n"
        "for (const attack of [() => { g.github = {}; }, () => { (github as any).getRepository = 1; },\n"
        "  () => Object.defineProperty(g, 'github', { value: 1 }), () => { g.ToolError = null; },\n"
        "  () => { g.console = null; }]) {\n"
        "  try { attack(); attempts.push('allowed'); } catch (e) { attempts.push((e as Error).name); }\n}\n"
        "return attempts;"
    )
    assert result.value == ["TypeError"] * 5


async def test_stack_trace_hooks_do_not_expose_runtime_functions() -> None:
    result = await FakeBackend().run(
        "let leaked: unknown[] = [];\n"
        "(Error as any).prepareStackTrace = (_e: Error, frames: any[]) => {\n"
        "  leaked = frames.map((f) => f.getFunction());\n  return '';\n};\n"
        "try { (github as any).nope(); } catch (e) { (e as Error).stack; }\n"
        "return leaked.filter((f) => f !== undefined).length;"
    )
    assert result.value == 0


@asynccontextmanager
async def ticking() -> AsyncIterator[list[int]]:
    """Count 20 ms ticks of another task on the event loop while the block runs."""
    ticks = [0]

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.02)
            ticks[0] += 1

    task = asyncio.create_task(tick())
    try:
        yield ticks
    finally:
        task.cancel()


async def test_an_infinite_loop_times_out_while_the_event_loop_keeps_serving() -> None:
    started = time.perf_counter()
    async with ticking() as ticks:
        result = await FakeBackend().run("while (true) {}", timeout_seconds=0.5)
    assert result.error is not None and result.error.kind == "timeout"
    assert time.perf_counter() - started < 3.0
    assert ticks[0] >= 10  # the loop ran about 25 ticks in 0.5 s, not zero


async def test_a_busy_loop_after_a_tool_call_cannot_block_the_event_loop() -> None:
    # The shape that freezes mini-racer's own wrap_py_function: a call finishes while JavaScript spins.
    async with ticking() as ticks:
        result = await FakeBackend().run(
            "const slow = webSearch.slowSearch({ seconds: 0.2 });\n"
            "await webSearch.echo({});\nwhile (true) {}\nawait slow;",
            timeout_seconds=1.0,
        )
    assert result.error is not None and result.error.kind == "timeout"
    assert ticks[0] >= 20


async def test_a_heap_bomb_is_stopped_by_the_memory_limit() -> None:
    result = await FakeBackend().run(
        "const hoard: string[] = [];\nwhile (true) hoard.push('x'.repeat(1024) + hoard.length);",
        memory_limit_bytes=32 * 1024 * 1024,
    )
    assert result.error is not None and result.error.kind == "memory"
    assert "32 MB" in (result.error.hint or "")


async def test_a_typed_array_bomb_is_refused_before_it_allocates() -> None:
    started = time.perf_counter()
    result = await FakeBackend().run("const bufs = [];\nwhile (true) bufs.push(new Uint8Array(1 << 28));")
    assert result.error is not None and result.error.kind == "runtime"
    assert "Uint8Array is not defined" in result.error.message
    assert (result.error.line, result.error.column) == (2, 28)  # at `Uint8Array`
    assert time.perf_counter() - started < 2.0


# Each of these aborts V8 from C++ (the whole process), loops uninterruptibly inside a builtin, or allocates
# outside the heap limit. They run in a worker process, so each costs one run and nothing else.
ANY_STOP = ("memory", "timeout", "runtime")  # V8 throws, aborts or loops, depending on the builtin and the load
PROCESS_KILLERS = [
    ("Array.prototype.sort.call({ length: 2 ** 32 - 1 });", ("memory",)),
    ("Array.prototype.toSorted.call({ length: 2 ** 32 - 1 });", ANY_STOP),
    ("Array.prototype.with.call({ length: 2 ** 32 - 1 }, 0, 1);", ANY_STOP),
    ("const a = []; a.length = 2 ** 32 - 1; a.fill(1);", ANY_STOP),
    ("Array.prototype.includes.call({ length: 2 ** 53 - 1 }, 'x');", ("timeout",)),
    ("Array.prototype.join.call({ length: 2 ** 53 - 1 });", ANY_STOP),
    ("const s = 'x'.repeat(500 * 1024 * 1024); return s.indexOf('y');", ("memory", "timeout")),
    ("while (true) {}", ("timeout",)),
]


@pytest.mark.parametrize(("program", "kinds"), PROCESS_KILLERS, ids=[p for p, _ in PROCESS_KILLERS])
async def test_what_would_take_down_the_process_costs_one_run(program: str, kinds: tuple[str, ...]) -> None:
    started = time.perf_counter()
    result = await FakeBackend().run(program, timeout_seconds=3.0, cpu_seconds=2.0)
    assert result.error is not None and result.error.kind in kinds, result.error
    assert result.error.hint
    assert time.perf_counter() - started < 3.0 + 4.0
    after = await FakeBackend().run("return await webSearch.echo({ still: 'serving' });")
    assert after.value == {"still": "serving"}


async def test_deep_recursion_is_a_runtime_error_with_a_hint() -> None:
    result = await FakeBackend().run("function down(n: number): number { return down(n + 1) + 1; }\nreturn down(0);")
    assert result.error is not None and result.error.kind == "runtime"
    assert "Maximum call stack size exceeded" in result.error.message
    assert result.error.line == 1
    assert "loop" in (result.error.hint or "")


async def test_a_megabyte_of_console_output_is_capped() -> None:
    result = await FakeBackend().run(
        "const line = 'y'.repeat(1000);\nfor (let i = 0; i < 1100; i++) console.log(line);\nreturn 'ok';",
        max_log_bytes=16 * 1024,
    )
    assert result.value == "ok"
    kept = sum(len(line.encode()) + 1 for line in result.logs[:-1])
    assert kept <= 16 * 1024
    assert "dropped" in result.logs[-1] and "16384 bytes" in result.logs[-1]


async def test_a_huge_return_value_is_cut_with_a_marker() -> None:
    result = await FakeBackend().run("return 'z'.repeat(200000);", max_result_bytes=4096)
    assert result.ok
    assert isinstance(result.value, str) and len(result.value.encode()) < 4096 + 200
    assert result.value.endswith("exceeds the 4096-byte limit]")


async def test_a_thousand_tool_calls_stop_at_the_limit_without_running_any() -> None:
    backend = FakeBackend()
    result = await backend.run(
        "const all = [];\nfor (let i = 0; i < 1000; i++) all.push(webSearch.echo({ i }));\nawait Promise.all(all);"
    )
    assert result.error is not None and result.error.kind == "limit"
    assert "at most 50 tool calls" in result.error.message
    assert backend.calls == []


async def test_calls_beyond_the_limit_throw_a_catchable_limit_error_and_reach_nothing() -> None:
    backend = FakeBackend()
    result = await backend.run(
        "let refused = 0, last: any;\nfor (let i = 0; i < 1000; i++) {\n"
        "  try { await webSearch.echo({ i }); } catch (e) { refused++; last = e; }\n}\n"
        "return [refused, last instanceof ToolError, last.kind, last.limit];",
        max_tool_calls=10,
    )
    assert result.value == [990, True, "limit", "max_tool_calls"]
    assert len(backend.calls) == 10
    assert len(result.calls) == 10


async def test_unknown_server_and_tool_names_get_helpful_hints() -> None:
    backend = FakeBackend()
    server = await backend.run("return await githb.searchRepositories({ query: 'x' });")
    assert server.error is not None and server.error.kind == "runtime"
    assert server.error.hint == (
        "unknown server 'githb'; available: filesystem, github, webSearch (did you mean 'github'?)"
    )
    tool = await backend.run("return await github.serchRepositories({});")
    assert tool.error is not None
    assert tool.error.message == (
        "TypeError: unknown tool 'serchRepositories' on server 'github'; available: createIssue, "
        "deleteRepository, getRepository, searchRepositories"
    )
    assert tool.error.hint == "read servers/github.d.ts for the exact method names"
    assert backend.calls == []


async def test_meta_tools_and_hidden_tools_are_unreachable_from_code() -> None:
    backend = FakeBackend()
    visible = {"github": ["search_repositories"]}  # the caller may not see create_issue
    for program in (
        "await executeToolCode({ code: '1' })",
        "await listToolFiles({})",
        "await github.createIssue({ title: 'x' })",
        "await (github as any)['create_issue']({ title: 'x' })",
    ):
        result = await execute(program, servers=visible, call_tool=backend.call_tool)
        assert result.error is not None and result.error.kind == "runtime", program
    assert backend.calls == []


async def test_a_denied_tool_stays_denied_when_reached_through_an_alias() -> None:
    backend = FakeBackend()
    result = await backend.run(
        "const g = github;\nconst { deleteRepository: remove } = g;\nconst again = remove;\n"
        "await again({ full_name: 'acme/legacy' });"
    )
    assert result.error is not None and result.error.kind == "denied"
    assert result.error.message == "github/delete_repository: role 'developer' may not call github/delete_repository"
    assert (result.error.line, result.error.column) == (4, 7)
    assert [c for c in backend.calls if c[1] == "delete_repository"]  # it did reach the gateway's check


async def test_a_python_exception_in_the_callback_leaks_no_traceback_or_path(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(server: str, tool: str, arguments: dict[str, object]) -> ToolOutcome:
        raise KeyError("/srv/secret/config.py line 12: token=abc123")

    result = await execute(
        "try { await github.search({}); }\n"
        "catch (e) { console.log(String((e as Error).stack), (e as Error).message); }\n"
        "await github.search({});",
        servers={"github": ["search"]},
        call_tool=broken,
    )
    rendered = json.dumps(result.to_dict()) + format_for_model(result)
    for secret in ("Traceback", "secret", "config.py", "abc123", "KeyError", ".py"):
        assert secret not in rendered
    assert result.error is not None and result.error.kind == "upstream"
    assert result.error.message == "github/search: internal gateway error"
    assert "Traceback" in caplog.text  # the gateway's own log keeps it


async def test_a_fatal_refusal_stops_the_execution_even_inside_try() -> None:
    async def needs_approval(server: str, tool: str, arguments: dict[str, object]) -> ToolOutcome:
        raise ToolCallError("denied", "github/create_issue needs approval", fatal=True)

    result = await execute(
        "try { await github.createIssue({}); } catch { return 'caught'; }",
        servers={"github": ["create_issue"]},
        call_tool=needs_approval,
    )
    assert result.error is not None and result.error.kind == "denied"
    assert "needs approval" in result.error.message


async def test_a_promise_that_never_settles_fails_fast() -> None:
    started = time.perf_counter()
    result = await FakeBackend().run("await new Promise(() => {});")
    assert result.error is not None and result.error.kind == "runtime"
    assert "nothing will ever settle" in result.error.message
    assert time.perf_counter() - started < 1.0


async def test_the_host_channel_is_out_of_the_programs_reach() -> None:
    result = await FakeBackend().run(
        "const seen: string[] = [];\n"
        "for (const name of Object.getOwnPropertyNames(globalThis)) {\n"
        "  const value = (globalThis as any)[name];\n"
        "  if (value && typeof value === 'object' && ('pump' in value || 'deliver' in value)) seen.push(name);\n}\n"
        "return [seen, typeof (globalThis as any).__mcpGuard];"
    )
    assert result.value == [[], "undefined"]


async def test_forged_reports_only_change_the_programs_own_data() -> None:
    # The report the runtime hands to Python is built from primitives: a prototype hook such as toJSON runs
    # for the program's own values, never for the report.
    backend = FakeBackend()
    result = await backend.run(
        "(Object.prototype as any).toJSON = function (this: any) {\n"
        "  return this.mine === 1 ? { requests: [[1, 'sleep', 1e9]], forged: true } : this;\n};\n"
        "const answer = await webSearch.echo({ mine: 1 });\n"
        "delete (Object.prototype as any).toJSON;\n"
        "return answer;",
        timeout_seconds=5.0,
    )
    assert result.ok, result.error
    assert backend.calls == [("web-search", "echo", {"requests": [[1, "sleep", 1e9]], "forged": True})]
    assert result.value == {"requests": [[1, "sleep", 1e9]], "forged": True}


async def test_setters_on_array_indexes_break_only_the_program_itself() -> None:
    result = await FakeBackend().run(
        "Object.defineProperty(Array.prototype, '0', { set() { throw new Error('hooked'); }, configurable: true });\n"
        "return await webSearch.echo({ mine: 1 });"
    )
    assert result.error is not None and result.error.kind == "runtime"
    assert "sandbox runtime" in result.error.message
    assert (await FakeBackend().run("return [1][0];")).value == 1


async def test_lone_surrogates_come_back_as_replacement_characters() -> None:
    # Legal in JavaScript strings, invalid in UTF-8 and JSON: a client could not parse the answer.
    result = await FakeBackend().run("console.log('\\ud800');\nreturn { s: '\\udc00x', ok: '😀' };")
    assert result.value == {"s": "\ufffdx", "ok": "😀"}
    assert result.logs == ("\ufffd",)
    thrown = await FakeBackend().run("throw new Error('bad \\ud800');")
    assert thrown.error is not None and thrown.error.message == "Error: bad \ufffd"
    json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")  # no lone surrogate left anywhere
