"""The Code Mode discovery index follows catalog changes in the background, in one long-lived thread (a thread
started per change made the event loop wait for it to be scheduled), and answers as a fresh build does."""

from __future__ import annotations

import asyncio
import time

import mcp_types as types
import pytest

from mcp_guard.codemode import SearchRequest, ToolIndex
from mcp_guard.config import parse_config
from mcp_guard.gateway import Gateway

pytestmark = pytest.mark.anyio


def tools(*names: str) -> list[types.Tool]:
    return [types.Tool(name=n, description=f"Does {n}.", input_schema={"type": "object"}) for n in names]


async def test_the_index_follows_catalog_changes_in_one_updater_thread() -> None:
    servers = ("alpha", "beta", "gamma")
    config = {"servers": [{"name": n, "transport": "http", "url": f"http://127.0.0.1:9/{n}"} for n in servers]}
    gateway = Gateway(parse_config(config))
    for server in servers:
        gateway.catalog.update_server(server, tools("list_items", "get_item"))
    service = gateway.code_mode_service
    await service.index()  # discovery used: from now on the index is kept current
    updaters = set()
    for n in range(3):
        gateway.catalog.update_server("beta", tools("list_items", f"archive_item{n}"))
        updaters.add(service._updater)
        deadline = time.monotonic() + 10
        while (current := service._index) is None or current[0] != gateway.catalog.version:
            assert time.monotonic() < deadline, "the index was not brought up to date in the background"
            await asyncio.sleep(0.01)
        entries = gateway.catalog.entries()
        fresh = ToolIndex(gateway.catalog.by_server())
        for query in ("archive item", "list items", "get"):
            request = SearchRequest(query, 5)
            assert current[1].search(entries, request) == fresh.search(entries, request)
        assert str(current[1].ranked(entries, "archive", 1)[0].ref) == f"beta/archive_item{n}"
    assert len(updaters) == 1 and None not in updaters  # one thread, woken per change
