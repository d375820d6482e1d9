"""Confirmation of destructive tools: the pipeline stage, over the pending confirmations' store
(`confirmation_store.py`, or Redis: `confirmation_redis.py`).

A tool needs confirmation when it carries the MCP `destructiveHint` (and `confirmations.destructive_hint`
is on) or its server's `confirm` names it. The first call is refused with 409 and a confirmation id, which
is the call id of that refused attempt (its audit record). Repeating the call with `x-mcp-confirm: <id>`
runs it once, and only for the key the id was issued to, the same tool and the same arguments (a SHA-256
of their canonical JSON), within `confirmations.ttl_seconds`. The confirmed call's audit record names the
refused attempt as its `parent_id`, so the log links both steps.

A Code Mode program cannot confirm anything: its calls to such tools are refused without an id.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..errors import ConfigError, ConfirmationRefused, ConfirmationRequired
from ..patterns import PatternSet
from .confirmation_store import Binding, ConfirmationStore, MemoryConfirmationStore, Pending, Problem

if TYPE_CHECKING:
    from ..catalog import CatalogEntry
    from ..config import GatewayConfig, ServerConfig
    from ..tool_call import ToolCall

CONFIRM_HEADER = b"x-mcp-confirm"

_PROBLEMS: dict[Problem, str] = {
    "unknown": "is unknown",
    "expired": "has expired",
    "used": "was already used",
    "foreign": "was issued to another key",
    "mismatch": "was issued for another tool or other arguments",
}


def open_confirmation_store(uri: str, ttl: float) -> ConfirmationStore:
    """`memory://` or `redis://…`; only the chosen driver is imported."""
    if uri == "memory://":
        return MemoryConfirmationStore(ttl)
    try:
        from .confirmation_redis import RedisConfirmationStore
    except ImportError:
        raise ConfigError(
            "confirmations.storage: redis:// needs the 'redis' extra: pip install 'mcp-guard[redis]'"
        ) from None
    return RedisConfirmationStore(uri, ttl)


class ConfirmationGate:
    """The pipeline's confirmation stage (`Pipeline(confirmations=...)`)."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        store: ConfirmationStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = config.confirmations
        self.store = store or open_confirmation_store(self.settings.storage, self.settings.ttl_seconds)
        self.clock = clock
        self._configured = PatternSet(_confirm_patterns(config.servers))

    def configure(self, servers: Iterable[ServerConfig]) -> None:
        """Take the servers' `confirm` settings again (servers changed at runtime, a reloaded file)."""
        self._configured = PatternSet(_confirm_patterns(servers))

    async def aclose(self) -> None:
        """Close the store's connections, if it has any."""
        close = getattr(self.store, "aclose", None)
        if close is not None:
            await close()

    def required(self, entry: CatalogEntry) -> bool:
        """Whether calls to this tool need confirmation (and so are never auto-executed)."""
        return (self.settings.destructive_hint and entry.destructive) or self._configured.matches(entry.ref)

    async def check(self, call: ToolCall, confirmation: str | None) -> None:
        """Pass, or raise 409 with a fresh confirmation id. Runs after the arguments are validated."""
        if call.tool is None or not self.required(call.tool):
            return
        tool = str(call.tool.ref)
        if call.entry_point == "code":
            raise ConfirmationRequired(
                f"Tool '{tool}' needs confirmation, which a Code Mode program cannot give: call it directly",
                extra={"tool": tool},
            )
        binding, now = Binding.of(call), self.clock()
        if confirmation is None:
            raise await self._ask(call, binding, now, None)
        problem = await self.store.consume(confirmation, binding, now)
        if problem is not None:
            raise await self._ask(call, binding, now, (confirmation, problem))
        call.parent_id = call.parent_id or confirmation

    async def _ask(
        self, call: ToolCall, binding: Binding, now: float, refused: tuple[str, Problem] | None
    ) -> ConfirmationRequired:
        ttl = self.settings.ttl_seconds
        await self.store.add(Pending(call.id, binding, now + ttl), now)
        ask = f"repeat the same call with the header 'x-mcp-confirm: {call.id}' within {ttl:g} s"
        extra = {"tool": binding.tool, "confirmation_id": call.id, "expires_at": now + ttl}
        if refused is None:
            return ConfirmationRequired(f"Tool '{binding.tool}' needs confirmation: {ask}", extra=extra)
        given, problem = refused
        message = f"Confirmation {given!r} {_PROBLEMS[problem]}; tool '{binding.tool}' still needs confirmation: {ask}"
        return ConfirmationRefused(message, extra={**extra, "confirmation_problem": problem})


def _confirm_patterns(servers: Iterable[ServerConfig]) -> list[str]:
    patterns: list[str] = []
    for server in servers:
        if server.confirm is True:
            patterns.append(f"{server.name}/*")
        elif isinstance(server.confirm, list):
            patterns.extend(f"{server.name}/{tool}" for tool in server.confirm)
    return patterns
