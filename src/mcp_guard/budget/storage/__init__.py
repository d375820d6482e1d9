"""Ledger storage, chosen by URI: `memory://`, `sqlite:///path`, `redis://host:port/db` (`rediss://`).

The map below is the whole registry: a scheme names a function that imports its backend only when it is
chosen, so a driver a deployment does not use is never imported, and a missing one names the extra that
installs it. A PostgreSQL backend (one transaction per operation) would add one line here.
"""

from __future__ import annotations

from collections.abc import Callable

from ...errors import ConfigError
from ..ledger import DEFAULT_RESERVATION_TTL, LedgerStorage


def _memory(url: str, reservation_ttl: float) -> LedgerStorage:
    from .memory import MemoryLedger

    return MemoryLedger.from_url(url, reservation_ttl=reservation_ttl)


def _sqlite(url: str, reservation_ttl: float) -> LedgerStorage:
    from .sqlite import SqliteLedger

    return SqliteLedger.from_url(url, reservation_ttl=reservation_ttl)


def _redis(url: str, reservation_ttl: float) -> LedgerStorage:
    try:
        from .redis import RedisLedger
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("redis"):
            raise
        raise ConfigError("budgets.storage: redis:// needs the Redis driver: pip install 'mcp-guard[redis]'") from None
    return RedisLedger.from_url(url, reservation_ttl=reservation_ttl)


SCHEMES: dict[str, Callable[[str, float], LedgerStorage]] = {
    "memory": _memory,
    "redis": _redis,
    "rediss": _redis,
    "sqlite": _sqlite,
}


def open_ledger(url: str, *, reservation_ttl: float = DEFAULT_RESERVATION_TTL) -> LedgerStorage:
    """The storage `url` names; `ConfigError` for a scheme no backend handles."""
    scheme, separator, _ = url.partition("://")
    opener = SCHEMES.get(scheme) if separator else None
    if opener is None:
        # Only the scheme is quoted: a storage URL can carry a password.
        shown = url.partition(":")[0]
        raise ConfigError(f"Unknown budget storage scheme {shown!r}; supported schemes: {sorted(SCHEMES)!r}")
    return opener(url, reservation_ttl)


__all__ = ["SCHEMES", "open_ledger"]
