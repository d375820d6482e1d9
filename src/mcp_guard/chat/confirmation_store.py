"""Where pending confirmations are kept (`ConfirmationStore`): what an id is bound to (`Binding`), the
pending entry, and the in-process store. Redis keeps them for several processes (`confirmation_redis.py`);
`confirmations.py` opens the one configured and runs the pipeline stage."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from ..tool_call import ToolCall

Problem = Literal["unknown", "expired", "used", "foreign", "mismatch"]


@dataclass(frozen=True, slots=True)
class Binding:
    """What a confirmation id is valid for."""

    key_id: str | None
    tool: str
    arguments_hash: str

    @classmethod
    def of(cls, call: ToolCall) -> Binding:
        principal = call.state.principal
        canonical = json.dumps(call.arguments, sort_keys=True, separators=(",", ":"), default=str)
        return cls(
            principal.key_id if principal else None,
            str(call.tool.ref) if call.tool else call.name,
            hashlib.sha256(canonical.encode()).hexdigest(),
        )


@dataclass(frozen=True, slots=True)
class Pending:
    id: str
    binding: Binding
    expires_at: float


class ConfirmationStore(Protocol):
    """Pending confirmations; each method is one atomic operation (Redis later: `SET NX EX` and a Lua
    check-and-mark script)."""

    async def add(self, pending: Pending, now: float) -> None: ...

    async def consume(self, confirmation_id: str, binding: Binding, now: float) -> Problem | None:
        """Mark the id used if it is valid for `binding` at `now`; otherwise say why it is not."""
        ...


class MemoryConfirmationStore:
    """One process's pending confirmations. Used and expired ids are kept for one more TTL, so a late
    retry hears "expired" or "already used" rather than "unknown"."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._entries: dict[str, tuple[Pending, bool]] = {}

    async def add(self, pending: Pending, now: float) -> None:
        stale = [k for k, (p, _used) in self._entries.items() if p.expires_at + self._ttl < now]
        for key in stale:
            del self._entries[key]
        self._entries[pending.id] = (pending, False)

    async def consume(self, confirmation_id: str, binding: Binding, now: float) -> Problem | None:
        # No await between the check and the update: atomic on the event loop.
        found = self._entries.get(confirmation_id)
        if found is None:
            return "unknown"
        pending, used = found
        problem = _problem(pending, used, binding, now)
        if problem is None:
            self._entries[confirmation_id] = (pending, True)
        return problem


def _problem(pending: Pending, used: bool, binding: Binding, now: float) -> Problem | None:
    if pending.binding.key_id != binding.key_id:
        return "foreign"
    if used:
        return "used"
    if pending.binding != binding:
        return "mismatch"
    if now >= pending.expires_at:
        return "expired"
    return None
