"""The two small caches of the hot path: both bounded, because their keys come from clients or keys.

- `BoundedMemo`: a value computed once per distinct key, for the things a client sends the same on every
  request (filter headers, the transport headers the fast path checks, its `_meta`). Past `size` keys the
  oldest is dropped, so a client varying its headers cannot grow the gateway's memory.
- `IdentityCache`: what is derived from an immutable object (a principal, a key's identity) and, where it
  matters, a tool: the rate limiter's matching rules, the budget's price and tiers, the SDK user of a key.
  Keyed by the object's identity (hashing a principal costs ≈ 1.2 µs, `id` 0.2 µs); the entry keeps a
  reference to its object, so the id cannot be reused by another object while the entry exists, and an
  object built again (other roles, another team, a reloaded key) is another object with its own entry.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
O = TypeVar("O")  # noqa: E741 - the cached-on object
V = TypeVar("V")
DEFAULT_SIZE = 4096


class BoundedMemo(Generic[K, V]):
    """At most `size` remembered values; remembering one more drops the oldest."""

    __slots__ = ("_entries", "size")

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError(f"cache size must be at least 1, got {size!r}")
        self._entries: dict[K, V] = {}
        self.size = size

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: K) -> V | None:
        return self._entries.get(key)

    def remember(self, key: K, value: V) -> V:
        if key not in self._entries and len(self._entries) >= self.size:
            del self._entries[next(iter(self._entries))]  # the oldest: dicts keep insertion order
        self._entries[key] = value
        return value


class IdentityCache(Generic[O, K, V]):
    """`derive(obj, key)`, remembered per object (by identity) and key (`None` where nothing else counts)."""

    __slots__ = ("_derive", "_memo")

    def __init__(self, derive: Callable[[O, K], V], size: int = DEFAULT_SIZE) -> None:
        self._derive = derive
        self._memo: BoundedMemo[tuple[int, K], tuple[O, V]] = BoundedMemo(size)

    def __len__(self) -> int:
        return len(self._memo)

    def get(self, obj: O, key: K) -> V:
        entry = self._memo.lookup((id(obj), key))
        if entry is not None and entry[0] is obj:
            return entry[1]
        return self._memo.remember((id(obj), key), (obj, self._derive(obj, key)))[1]
