"""HeaderFilterMiddleware: narrows what one request may see and call (see `filters.py`).

An entry that matches nothing configured (a misspelt server, a Bifrost-style name for a server that does not
exist) would silently leave the request with nothing to see, so it is reported: a log line the first time
the header is seen, and `x-mcp-guard-warning` on every response to a request carrying it.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from ..asgi import Scope
from ..caches import BoundedMemo, entry_footprint
from ..errors import BadRequest
from ..filters import FILTER_HEADERS, HeaderFilter
from ..state import RequestState
from .base import GoverningMiddleware, Paths
from .paths import DEFAULT_PATHS

if TYPE_CHECKING:
    from ..audit.refusals import RefusalLog
    from ..core import GatewayCore

logger = logging.getLogger(__name__)

WARNING_HEADER = b"x-mcp-guard-warning"
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")
_CACHE_BYTES = 2 * 1024 * 1024  # a few thousand ordinary filters, or ~40 of the largest allowed

FilterKey = tuple[tuple[bytes, bytes], ...]


class _Parsed:
    """A filter and its warning, as of one catalog version (the filter itself depends only on the headers and
    the configured servers)."""

    __slots__ = ("catalog_version", "rule", "warning")

    def __init__(self, rule: HeaderFilter | None, warning: bytes | None, catalog_version: int) -> None:
        self.rule = rule
        self.warning = warning
        self.catalog_version = catalog_version


class HeaderFilterMiddleware(GoverningMiddleware):
    """With `gateway`, entries are read against its configured servers (Bifrost's `server-tool` forms) and
    entries that match nothing configured are reported; without it, neither."""

    def __init__(
        self,
        app: Any,
        *,
        gateway: GatewayCore | None = None,
        paths: Paths = DEFAULT_PATHS,
        refusals: RefusalLog | None = None,
    ) -> None:
        super().__init__(app, paths, gateway=gateway, refusals=refusals)
        self.gateway = gateway
        self.servers = frozenset(s.name for s in gateway.config.servers) if gateway is not None else frozenset()
        # A client sends the same filter headers on every request: parse each distinct set once
        # (saves building the pattern sets per request, ~7 µs). Rules are immutable, so sharing is safe.
        self._filters: BoundedMemo[FilterKey, _Parsed] = BoundedMemo(_CACHE_BYTES, _weigh)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if not self.governs(scope):
            await self.app(scope, receive, send)
            return
        try:
            parsed = self._attach(scope)
        except BadRequest as exc:  # a malformed or oversized filter header
            await self.refuse(scope, receive, send, exc)
            return
        warning = parsed.warning if parsed is not None else None
        await self.app(scope, receive, send if warning is None else _with_header(send, warning))

    async def apply(self, scope: Scope) -> None:
        self._attach(scope)

    def _attach(self, scope: Scope) -> _Parsed | None:
        parsed = self._parsed(scope)
        if parsed is not None and parsed.rule is not None:
            RequestState.from_scope(scope).access.append(parsed.rule)
        return parsed

    def _parsed(self, scope: Scope) -> _Parsed | None:
        key = tuple((name, value) for name, value in scope.get("headers", ()) if name in FILTER_HEADERS)
        if not key:
            return None
        version = self.gateway.catalog.version if self.gateway is not None else 0
        parsed = self._filters.lookup(key)
        if parsed is None:
            rule = HeaderFilter.from_scope(scope, self.servers)
            parsed = self._filters.remember(key, _Parsed(rule, self._warning(rule), version))
        elif parsed.catalog_version != version:  # the rule stays (one object: listings are cached by it)
            parsed = self._filters.remember(key, _Parsed(parsed.rule, self._warning(parsed.rule), version))
        return parsed

    def _warning(self, rule: HeaderFilter | None) -> bytes | None:
        if rule is None or self.gateway is None:
            return None
        refs = (entry.ref for entry in self.gateway.catalog.entries())
        unmatched = rule.unmatched(self.servers, refs)
        if not unmatched:
            return None
        listed = ", ".join(f"{entry.header}: {entry.text!r}" for entry in unmatched)
        known = ", ".join(sorted(self.servers)) or "none"
        logger.warning("Filter entries match nothing configured: %s (servers: %s)", listed, known)
        text = f"filter entries match nothing configured: {listed}; servers: {known}"
        # The entries come from the request: only printable ASCII goes back into a response header.
        return _UNPRINTABLE.sub("?", text).encode("ascii")[:1024]


def _with_header(send: Any, value: bytes) -> Any:
    async def sending(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), (WARNING_HEADER, value)]
        await send(message)

    return sending


def _weigh(key: FilterKey, parsed: _Parsed) -> int:
    rule_bytes = parsed.rule.footprint if parsed.rule is not None else 0
    return entry_footprint(key, parsed.warning) + rule_bytes
