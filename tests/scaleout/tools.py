"""The in-process tools the scale-out gateways serve (`target: tests.scaleout.tools:server`)."""

from mcp_guard import InProcessServer

server = InProcessServer("work")


@server.tool
async def echo(text: str) -> str:
    """Return the text: a free call, audited."""
    return text


@server.tool
async def limited(text: str) -> str:
    """Return the text: a call under a shared rate limit."""
    return text


@server.tool
async def priced(text: str) -> str:
    """Return the text: a call that costs $0.01 against the caller's budgets."""
    return text
