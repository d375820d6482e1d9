"""An in-memory stand-in for the gateway behind Code Mode: servers as dicts of async Python functions.

The real pipeline integration is tested elsewhere; here a `FakeBackend` plays `call_tool`, records every
call it receives, and holds a little world (repositories, issues, files) programs can read and change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from mcp_guard.codemode import CodeModeSettings, ExecutionResult, ToolCallError, ToolOutcome, execute

Handler = Callable[[dict[str, Any]], Awaitable[Any]]

REPOS = [
    {"full_name": "modelcontextprotocol/servers", "stargazers_count": 52000, "language": "TypeScript"},
    {"full_name": "modelcontextprotocol/python-sdk", "stargazers_count": 18000, "language": "Python"},
    {"full_name": "acme/mcp-gateway", "stargazers_count": 120, "language": "Python"},
    {"full_name": "acme/legacy", "stargazers_count": 3, "language": None},
]


class FakeBackend:
    """`call_tool` over `servers[server][tool]` handlers; unknown names raise like the pipeline would."""

    def __init__(self, servers: dict[str, dict[str, Handler]] | None = None) -> None:
        self.servers = servers if servers is not None else default_servers(self)
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.files: dict[str, str] = {"/notes/todo.md": "# TODO\n- ship code mode\n- write docs\n"}
        self.issues: list[dict[str, Any]] = []

    def visible(self) -> dict[str, list[str]]:
        return {server: sorted(tools) for server, tools in self.servers.items()}

    async def call_tool(self, server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        self.calls.append((server, tool, arguments))
        handler = self.servers.get(server, {}).get(tool)
        if handler is None:
            raise ToolCallError("denied", f"Unknown tool '{server}/{tool}'")
        value = await handler(arguments)
        return value if isinstance(value, ToolOutcome) else ToolOutcome(value=value)

    async def run(self, code: str, **settings: Any) -> ExecutionResult:
        return await execute(
            code, servers=self.visible(), call_tool=self.call_tool, settings=CodeModeSettings(**settings)
        )


def default_servers(backend: FakeBackend) -> dict[str, dict[str, Handler]]:
    async def search_repositories(args: dict[str, Any]) -> Any:
        query = str(args.get("query", ""))
        items = [r for r in REPOS if query.lower() in r["full_name"].lower()]
        return {"total_count": len(items), "items": items}

    async def get_repository(args: dict[str, Any]) -> Any:
        for repo in REPOS:
            if repo["full_name"] == args.get("full_name"):
                return repo
        return ToolOutcome(error=f"repository {args.get('full_name')!r} not found")

    async def create_issue(args: dict[str, Any]) -> Any:
        issue = {"number": len(backend.issues) + 1, "title": args["title"], "body": args.get("body", "")}
        backend.issues.append(issue)
        return issue

    async def delete_repository(args: dict[str, Any]) -> Any:
        raise ToolCallError("denied", "role 'developer' may not call github/delete_repository")

    async def read_file(args: dict[str, Any]) -> Any:
        path = args["path"]
        if path not in backend.files:
            return ToolOutcome(error=f"ENOENT: no such file {path!r}")
        return backend.files[path]

    async def write_file(args: dict[str, Any]) -> Any:
        backend.files[args["path"]] = args["content"]
        return f"wrote {len(args['content'])} characters to {args['path']}"

    async def list_directory(args: dict[str, Any]) -> Any:
        prefix = args["path"].rstrip("/") + "/"
        return [name[len(prefix) :] for name in sorted(backend.files) if name.startswith(prefix)]

    async def slow(args: dict[str, Any]) -> Any:
        await asyncio.sleep(float(args.get("seconds", 0.2)))
        return {"slept": args.get("seconds", 0.2), "tag": args.get("tag")}

    async def echo(args: dict[str, Any]) -> Any:
        return args

    return {
        "github": {
            "search_repositories": search_repositories,
            "get_repository": get_repository,
            "create_issue": create_issue,
            "delete_repository": delete_repository,
        },
        "filesystem": {"read_file": read_file, "write_file": write_file, "list_directory": list_directory},
        "web-search": {"slow_search": slow, "echo": echo},
    }
