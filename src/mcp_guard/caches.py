"""The small caches of the hot path: bounded in bytes, because their keys come from clients or keys.

- `BoundedMemo`: a value computed once per distinct key, for the things a client sends the same on every
  request (filter headers, the transport headers the fast path checks, its `_meta`). Each entry is weighed
  (`weigh(key, value)`, about the bytes it keeps alive) and past `max_bytes` the oldest entries are dropped,
  so a client varying its headers, or sending large ones, cannot grow the gateway's memory past the budget.
  Counting entries was not enough: one filter header of 60 KB kept 3 MB alive, and 1,024 of them fitted.
- `IdentityCache`: what is derived from an immutable object (a principal, a key's identity) and, where it
  matters, a tool: the rate limiter's matching rules, the budget's price and tiers, the SDK user of a key.
  Keyed by the object's identity (hashing a principal costs ≈ 1.2 µs, `id` 0.2 µs); the entry keeps a
  reference to its object, so the id cannot be reused by another object while the entry exists, and an
  object built again (other roles, another team, a reloaded key) is another object with its own entry.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
O = TypeVar("O")  # noqa: E741 - the cached-on object
V = TypeVar("V")
DEFAULT_BYTES = 1 << 20  # 1 MiB per cache
_ENTRY_OVERHEAD = 100  # a dict slot and the tuple holding an entry's parts


def footprint(value: Any) -> int:
    """About the bytes `value` keeps alive: deep for str, bytes and (nested) tuples, shallow otherwise.
    Good enough to budget by; exact accounting would cost more than the entries it guards."""
    if isinstance(value, tuple):
        return sys.getsizeof(value) + sum(footprint(item) for item in value)
    return sys.getsizeof(value)


def entry_footprint(key: Any, value: Any) -> int:
    """The default weight of an entry: its key and its value, as `footprint` sees them."""
    return _ENTRY_OVERHEAD + footprint(key) + footprint(value)


class BoundedMemo(Generic[K, V]):
    """Entries weighing at most `max_bytes` together; remembering one more drops the oldest until it fits.
    An entry heavier than the whole budget is not kept at all."""

    __slots__ = ("_entries", "_weigh", "max_bytes", "used")

    def __init__(self, max_bytes: int = DEFAULT_BYTES, weigh: Callable[[K, V], int] = entry_footprint) -> None:
        if max_bytes < 1:
            raise ValueError(f"cache budget must be at least 1 byte, got {max_bytes!r}")
        self._entries: dict[K, tuple[V, int]] = {}
        self._weigh = weigh
        self.max_bytes = max_bytes
        self.used = 0  # bytes, as weighed

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: K) -> V | None:
        entry = self._entries.get(key)
        return entry[0] if entry is not None else None

    def remember(self, key: K, value: V) -> V:
        weight = self._weigh(key, value)
        old = self._entries.pop(key, None)
        if old is not None:
            self.used -= old[1]
        if weight > self.max_bytes:
            return value
        while self._entries and self.used + weight > self.max_bytes:
            oldest = next(iter(self._entries))  # dicts keep insertion order
            self.used -= self._entries.pop(oldest)[1]
        self._entries[key] = (value, weight)
        self.used += weight
        return value


class IdentityCache(Generic[O, K, V]):
    """`derive(obj, key)`, remembered per object (by identity) and key (`None` where nothing else counts)."""

    __slots__ = ("_derive", "_memo")

    def __init__(self, derive: Callable[[O, K], V], max_bytes: int = DEFAULT_BYTES) -> None:
        self._derive = derive
        self._memo: BoundedMemo[tuple[int, K], tuple[O, V]] = BoundedMemo(max_bytes, _identity_entry)

    def __len__(self) -> int:
        return len(self._memo)

    def get(self, obj: O, key: K) -> V:
        entry = self._memo.lookup((id(obj), key))
        if entry is not None and entry[0] is obj:
            return entry[1]
        return self._memo.remember((id(obj), key), (obj, self._derive(obj, key)))[1]


def _identity_entry(key: tuple[int, Any], entry: tuple[Any, Any]) -> int:
    # The object is kept alive by its owner anyway; what the cache adds is the key and the derived value.
    return _ENTRY_OVERHEAD + footprint(key) + footprint(entry[1])
