"""What a guard derives from a (principal, tool) pair, computed once instead of on every call.

The rate limiter's matching rules and the budget's price and tiers depend only on the principal and the
tool, and principals are immutable: the resolver builds one per key and hands the same object to every
request of that key. So the derived value is cached under the principal's identity (hashing a principal
costs more than deriving most values: ≈ 1.2 µs, against 0.2 µs for `id`). The entry keeps a reference to
its principal, so that id cannot be reused by another object while the entry exists; a principal built
again (other roles, another team, a reloaded key) is another object and gets its own entry.

The cache is bounded: past `size` entries the oldest is dropped (principals of keys no longer used, or
rebuilt ones, age out).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from .names import ToolRef

P = TypeVar("P")
V = TypeVar("V")
DEFAULT_SIZE = 4096


class PrincipalToolCache(Generic[P, V]):
    """`derive(principal, ref)`, remembered per principal object and tool."""

    __slots__ = ("_derive", "_entries", "size")

    def __init__(self, derive: Callable[[P, ToolRef], V], size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError(f"cache size must be at least 1, got {size!r}")
        self._derive = derive
        self._entries: dict[tuple[int, ToolRef], tuple[P, V]] = {}
        self.size = size

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, principal: P, ref: ToolRef) -> V:
        key = (id(principal), ref)
        entry = self._entries.get(key)
        if entry is not None and entry[0] is principal:
            return entry[1]
        value = self._derive(principal, ref)
        if len(self._entries) >= self.size:
            del self._entries[next(iter(self._entries))]  # the oldest: dicts keep insertion order
        self._entries[key] = (principal, value)
        return value
