"""What one caller is shown: the tools it may see, split into those listed directly and those reached
through Code Mode (then Code Mode's meta-tools are listed in their place).

Code Mode applies to a tool when its server has `code_mode: true` in the configuration, or to every tool
when the caller's key or team has `code_mode: true`, or when the request asks for it
(`x-mcp-code-mode: true`, recorded on the RequestState).

Tool search for classic clients (`x-mcp-tool-search: true`, or `code_mode.classic_search: true` for every
caller) lists the `search_tools` tool instead of the directly callable tools; they stay callable by name.

A listing is built once per caller and catalog version, not per request (`ListingCache`): at 10,000 tools
building one takes milliseconds, finding it again microseconds (`bench/catalog_scale.py`).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import mcp_types as types

from .catalog import CatalogEntry, openai_function
from .codemode import CodeModeSettings, classic_search_tool, meta_tools
from .core import GatewayCore
from .state import RequestState


@dataclass(frozen=True, slots=True)
class Listing:
    direct: tuple[CatalogEntry, ...]  # listed as themselves
    code: tuple[CatalogEntry, ...]  # reached through Code Mode's meta-tools
    settings: CodeModeSettings
    searchable: tuple[CatalogEntry, ...] = ()  # callable directly, found through `search_tools`

    @property
    def search(self) -> bool:
        return bool(self.searchable)

    def mcp_tools(self) -> list[types.Tool]:
        return [e.exposed for e in self.direct] + list(self._extra_tools())

    def openai_tools(self) -> list[dict[str, Any]]:
        return [e.openai for e in self.direct] + [openai_function(t) for t in self._extra_tools()]

    def _extra_tools(self) -> tuple[types.Tool, ...]:
        return (_search_tool() if self.search else ()) + (_meta_tools(self.settings) if self.code else ())


@cache
def _meta_tools(settings: CodeModeSettings) -> tuple[types.Tool, ...]:
    return tuple(meta_tools(settings))


@cache
def _search_tool() -> tuple[types.Tool, ...]:
    return (classic_search_tool(),)


class ListedGateway(GatewayCore, Protocol):
    """A gateway with its cache of listings (`host.GatewayHost` is one)."""

    listings: ListingCache


def listing_for(gateway: ListedGateway, state: RequestState) -> Listing:
    """What this caller is shown; the same `Listing` for every request with the same rules while the catalog
    and the configuration stay the same."""
    return gateway.listings.get(gateway, state)


# Per server: its catalog entries (the catalog's own tuple, so a change replaces it) and those a caller may see.
Pieces = dict[str, tuple[tuple[CatalogEntry, ...], tuple[CatalogEntry, ...]]]


class ListingCache:
    """Listings by what decides them: the request's access rules (the objects themselves: a key's rule is
    one object per key until its rights or the configuration change, a filter one object per distinct set
    of filter headers), and its Code Mode and tool-search switches. A listing is kept with the catalog
    version it shows and what the caller may see per server: after one upstream's change only that server's
    tools are checked again. Emptied when the configuration changes; at most `MAX_LISTINGS` kept (the least
    recently used go), since a listing at 10,000 tools holds ~80 KB of references."""

    MAX_LISTINGS = 128

    def __init__(self) -> None:
        self._config: object = None
        self._listings: dict[Hashable, tuple[int, Listing, Pieces]] = {}

    def get(self, gateway: ListedGateway, state: RequestState) -> Listing:
        if gateway.config is not self._config:
            self._listings = {}
            self._config = gateway.config
        principal_code_mode = state.principal is not None and state.principal.code_mode
        key = (*state.access, state.code_mode, state.tool_search, principal_code_mode)
        listings = self._listings
        try:
            cached = listings.pop(key, None)
        except TypeError:  # a host app's rule that cannot be hashed: built for every request
            return build_listing(gateway, state)
        version = gateway.catalog.version
        if cached is None or cached[0] != version:
            visible, pieces = _visible(gateway, state, cached[2] if cached is not None else {})
            cached = (version, _listing(gateway, state, visible), pieces)
            if len(listings) >= self.MAX_LISTINGS:
                del listings[next(iter(listings))]
        listings[key] = cached  # (re)inserted last: the most recently used
        return cached[1]


def build_listing(gateway: ListedGateway, state: RequestState) -> Listing:
    """The listing built from the catalog alone (`listing_for` finds it again while nothing changed)."""
    return _listing(gateway, state, _visible(gateway, state, {})[0])


def _visible(gateway: ListedGateway, state: RequestState, previous: Pieces) -> tuple[list[CatalogEntry], Pieces]:
    """The entries `state` may see, in catalog order, reusing `previous` for the servers whose entries are the
    same tuple as when it was built."""
    visible: list[CatalogEntry] = []
    pieces: Pieces = {}
    for server, entries in gateway.catalog.by_server().items():
        piece = previous.get(server)
        if piece is None or piece[0] is not entries:
            piece = (entries, tuple(e for e in entries if state.may_see(e.ref)))
        pieces[server] = piece
        visible += piece[1]
    return visible, pieces


def _listing(gateway: ListedGateway, state: RequestState, visible: list[CatalogEntry]) -> Listing:
    code_only = gateway.code_only_servers
    settings = gateway.config.code_mode
    if state.code_mode or (state.principal is not None and state.principal.code_mode):
        direct, code = [], visible
    elif not code_only:
        direct, code = visible, []
    else:
        direct = [e for e in visible if e.ref.server not in code_only]
        code = [e for e in visible if e.ref.server in code_only]
    if direct and (state.tool_search or settings.classic_search):
        return Listing((), tuple(code), settings, tuple(direct))
    return Listing(tuple(direct), tuple(code), settings)
