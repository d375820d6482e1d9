"""In-process tools for the escape suite through a running gateway (`target: tests.codemode.hostile_tools:tools`)."""

from __future__ import annotations

from mcp_guard import InProcessServer

tools = InProcessServer("bulk")


@tools.tool
def blob(megabytes: float) -> str:
    """A text result of `megabytes` MB (the gateway must not hand a huge one to a program)."""
    return "x" * int(megabytes * 1024 * 1024)


@tools.tool
def ping() -> str:
    """A cheap call for the well-behaved client."""
    return "pong"
