"""Run the MCP Inspector CLI (an independent TypeScript MCP client) and parse its JSON."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import anyio
import anyio.to_thread

from .node import node_executable, node_script
from .processes import kill_process_group

Era = Literal["legacy", "auto", "modern"]


class InspectorError(RuntimeError):
    """The inspector exited non-zero; `error` is its JSON error envelope when it printed one."""

    def __init__(self, message: str, error: Any = None) -> None:
        super().__init__(message)
        self.error = error


def inspector_argv(
    target: str | Sequence[str],
    method: str = "tools/list",
    *,
    tool_name: str | None = None,
    tool_args: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    transport: Literal["http", "sse", "stdio"] | None = None,
    era: Era | None = None,
) -> list[str]:
    """The command line for one inspector call: a URL target, or a stdio server command."""
    argv = [node_executable(), str(node_script("mcp-inspector")), "--cli"]
    argv += ["--method", method, "--format", "json", "--stored-auth-only"]
    if tool_name is not None:
        argv += ["--tool-name", tool_name]
    if tool_args:
        # JSON keeps argument types; `--tool-arg k=v` would guess them.
        argv += ["--tool-args-json", json.dumps(dict(tool_args))]
    for name, value in (headers or {}).items():
        argv += ["--header", f"{name}: {value}"]
    if transport is not None:
        argv += ["--transport", transport]
    if era is not None:
        argv += ["--protocol-era", era]
    # After `--`, a stdio server's own options are not taken for the inspector's.
    return [*argv, "--", *([target] if isinstance(target, str) else target)]


def run_inspector_sync(
    target: str | Sequence[str],
    method: str = "tools/list",
    *,
    timeout: float = 60.0,
    **options: Any,
) -> Any:
    """Run one inspector call and return its JSON result (`tools/list` gives `{"tools": [...]}`).

    `options` are those of `inspector_argv`. A tool result with `isError` is
    returned like any other. Raises `InspectorError` when the inspector
    printed no result (unreachable server, unknown tool, HTTP 401, ...) or
    took longer than `timeout`. The inspector keeps a catalog under `$HOME`,
    so it runs with a throwaway home directory.
    """
    argv = inspector_argv(target, method, **options)
    with tempfile.TemporaryDirectory(prefix="inspector-home-") as home:
        env = {**os.environ, "HOME": home}
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise InspectorError(f"inspector {method} on {target!r} took longer than {timeout}s") from None
        finally:
            kill_process_group(process, grace=0)
    return _parse_output(process.returncode, stdout.decode(), stderr.decode(), f"{method} on {target!r}")


def _parse_output(code: int | None, stdout: str, stderr: str, what: str) -> Any:
    # A tool result with isError=true exits 5 but is still a result: return it.
    try:
        return json.loads(stdout)["result"]
    except (ValueError, KeyError, TypeError):
        pass
    message = f"inspector {what} exited with {code}: {stderr.strip() or stdout.strip()}"
    raise InspectorError(message, _error(stderr))


def _error(stderr: str) -> Any:
    for line in reversed(stderr.splitlines()):
        try:
            return json.loads(line)["error"]
        except (ValueError, KeyError, TypeError):
            continue
    return None


async def run_inspector(
    target: str | Sequence[str],
    method: str = "tools/list",
    *,
    timeout: float = 60.0,
    **options: Any,
) -> Any:
    """`run_inspector_sync` without blocking the event loop (the server under test may run in it)."""

    def call() -> Any:
        return run_inspector_sync(target, method, timeout=timeout, **options)

    return await anyio.to_thread.run_sync(call)
