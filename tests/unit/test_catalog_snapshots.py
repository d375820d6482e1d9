"""One upstream's change replaces that server's entries and nothing else (`catalog.py`): the other servers'
entries stay the same objects (Code Mode's index and the listing cache rely on it), lookups see the new
version at once, and what a listing shows is built when first asked for."""

from __future__ import annotations

import gc

import mcp_types as types
import pytest

from mcp_guard.config import parse_config
from mcp_guard.gateway import Gateway
from mcp_guard.names import ToolRef


def tools(*names: str) -> list[types.Tool]:
    return [types.Tool(name=n, description=f"Does {n}.", input_schema={"type": "object"}) for n in names]


def catalog_of(*servers: str) -> Gateway:
    servers_config = [{"name": n, "transport": "http", "url": f"http://127.0.0.1:9/{n}"} for n in servers]
    return Gateway(parse_config({"servers": servers_config}))


def test_a_change_replaces_only_its_servers_entries() -> None:
    catalog = catalog_of("alpha", "beta").catalog
    catalog.update_server("alpha", tools("read", "write"))
    catalog.update_server("beta", tools("list"))
    beta = catalog.by_server()["beta"]
    entries = catalog.entries()
    catalog.update_server("alpha", tools("read", "delete"))
    assert catalog.by_server()["beta"] is beta
    assert [str(e.ref) for e in catalog.entries()] == ["alpha/delete", "alpha/read", "beta/list"]
    assert catalog.entries() is catalog.entries() and catalog.entries() != entries
    assert catalog.get(ToolRef("alpha", "write")) is None and catalog.resolve("alpha__write") is None
    deleted = catalog.resolve("alpha__delete")
    assert deleted is not None and deleted is catalog.get(ToolRef("alpha", "delete"))
    assert catalog.resolve("beta/list") is beta[0]
    catalog.remove_server("beta")
    assert catalog.resolve("beta__list") is None and list(catalog.by_server()) == ["alpha"]


def test_the_listed_forms_are_built_once_when_first_asked_for() -> None:
    catalog = catalog_of("alpha").catalog
    catalog.update_server("alpha", tools("read"))
    (entry,) = catalog.entries()
    assert entry.exposed is entry.exposed and entry.openai is entry.openai
    assert entry.exposed.name == "alpha__read" and entry.exposed.description == "Does read."
    assert entry.openai["function"] == {
        "name": "alpha__read",
        "description": "Does read.",
        "parameters": {"type": "object"},
    }
    assert entry.tool.name == "read"  # the upstream's own tool is not renamed


@pytest.mark.parametrize("opted_in", [False, True])
def test_gc_freeze_leaves_the_heap_out_of_collections_after_a_change_only_when_asked(opted_in: bool) -> None:
    servers_config = [{"name": "alpha", "transport": "http", "url": "http://127.0.0.1:9/alpha"}]
    gateway = Gateway(parse_config({"servers": servers_config, "gc_freeze": opted_in}))
    gc.unfreeze()
    try:
        gateway.catalog.update_server("alpha", tools("read"))
        assert (gc.get_freeze_count() > 0) is opted_in
    finally:
        gc.unfreeze()  # the other tests run in this process
