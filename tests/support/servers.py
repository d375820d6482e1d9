"""Real MCP servers for tests: the example servers, npm server-everything, PyPI mcp-server-time.

HTTP servers are `ServerProcess` objects (not yet started) bound to a free
127.0.0.1 port; enter one with `async with` (or `with`) to start it and wait
until it listens, and it is stopped, process group and all, on exit:

    async with notes_server("sse") as server:
        async with Client(sse_client(server.url)) as client: ...
        await server.arestart()   # same port, fresh process, empty note store

Stdio servers are `StdioServerParameters`; the SDK's stdio client starts them in
their own process group and kills the group when the client closes.

Everything else a test needs is re-exported here, so one import does.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from mcp import StdioServerParameters

from .inspector import InspectorError, inspector_argv, run_inspector, run_inspector_sync
from .node import LOOPBACK_PRELOAD, NodeSetupError, ensure_node_modules, node_executable, node_script
from .processes import LOOPBACK, ServerProcess, ServerStartError, free_port, kill_process_group, port_is_open

__all__ = [
    "EXAMPLES_DIR",
    "LOOPBACK",
    "InspectorError",
    "NodeSetupError",
    "ServerProcess",
    "ServerStartError",
    "ensure_node_modules",
    "everything_server",
    "everything_stdio_params",
    "free_port",
    "inspector_argv",
    "kill_process_group",
    "node_executable",
    "node_script",
    "notes_server",
    "notes_stdio_params",
    "paged_server",
    "paged_stdio_params",
    "port_is_open",
    "run_inspector",
    "run_inspector_sync",
    "time_stdio_params",
]

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "servers"
NOTES_SERVER = EXAMPLES_DIR / "notes_server.py"
PAGED_SERVER = EXAMPLES_DIR / "paged_server.py"


def notes_server(
    transport: Literal["http", "sse"] = "http",
    *,
    many_tools: int = 0,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    asking_items: bool = False,
) -> ServerProcess:
    """The notes example over streamable HTTP (`url` ends in /mcp) or legacy SSE (`url` ends in /sse)."""
    port = port or free_port()
    argv = [sys.executable, str(NOTES_SERVER), "--transport", transport, "--port", str(port)]
    argv += ["--many-tools", str(many_tools)] if many_tools else []
    argv += ["--asking-items"] if asking_items else []
    return ServerProcess(argv, port=port, path="/mcp" if transport == "http" else "/sse", env=env)


def notes_stdio_params(*, many_tools: int = 0, env: Mapping[str, str] | None = None) -> StdioServerParameters:
    """The notes example over stdio, run by this interpreter."""
    args = [str(NOTES_SERVER), "--transport", "stdio"]
    args += ["--many-tools", str(many_tools)] if many_tools else []
    return StdioServerParameters(command=sys.executable, args=args, env=dict(env) if env else None)


def paged_server(
    *, tools: int = 25, page_size: int = 10, port: int | None = None, env: Mapping[str, str] | None = None
) -> ServerProcess:
    """The paginating low-level example over streamable HTTP (`url` ends in /mcp)."""
    port = port or free_port()
    argv = [sys.executable, str(PAGED_SERVER), "--transport", "http", "--port", str(port)]
    argv += ["--tools", str(tools), "--page-size", str(page_size)]
    return ServerProcess(argv, port=port, path="/mcp", env=env)


def paged_stdio_params(
    *, tools: int = 25, page_size: int = 10, env: Mapping[str, str] | None = None
) -> StdioServerParameters:
    """The paginating low-level example over stdio."""
    args = [str(PAGED_SERVER), "--transport", "stdio", "--tools", str(tools), "--page-size", str(page_size)]
    return StdioServerParameters(command=sys.executable, args=args, env=dict(env) if env else None)


def everything_server(
    transport: Literal["http", "sse"] = "http",
    *,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
) -> ServerProcess:
    """npm server-everything over streamable HTTP (`url` ends in /mcp) or SSE (/sse), forced onto 127.0.0.1.

    Installs the pinned npm packages first if needed. It speaks the 2025-11-25
    handshake era only (TypeScript SDK).
    """
    port = port or free_port()
    mode, path = ("streamableHttp", "/mcp") if transport == "http" else ("sse", "/sse")
    script = node_script("mcp-server-everything")
    argv = [node_executable(), "--require", str(LOOPBACK_PRELOAD), str(script), mode]
    return ServerProcess(argv, port=port, path=path, env={**(env or {}), "PORT": str(port)})


def everything_stdio_params(*, env: Mapping[str, str] | None = None) -> StdioServerParameters:
    """npm server-everything in stdio mode."""
    args = ["--require", str(LOOPBACK_PRELOAD), str(node_script("mcp-server-everything")), "stdio"]
    return StdioServerParameters(command=node_executable(), args=args, env=dict(env) if env else None)


def time_stdio_params(*, local_timezone: str = "UTC", env: Mapping[str, str] | None = None) -> StdioServerParameters:
    """PyPI mcp-server-time over stdio; its console script must sit next to this interpreter."""
    script = Path(sys.executable).parent / "mcp-server-time"
    if not script.exists():
        raise FileNotFoundError(f"{script} not found: pip install mcp-server-time into this environment")
    args = ["--local-timezone", local_timezone]
    return StdioServerParameters(command=str(script), args=args, env=dict(env) if env else None)
