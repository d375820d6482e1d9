"""Listings are cached per caller and catalog version (`listing.ListingCache`): what a cached listing shows
must always be what a freshly built one shows, after a catalog change, a key's rights change and a reload."""

from __future__ import annotations

import random
from pathlib import Path

import mcp_types as types
import pytest
import yaml

from mcp_guard.auth.keys import hash_key
from mcp_guard.config import parse_config
from mcp_guard.filters import HeaderFilter
from mcp_guard.gateway import Gateway
from mcp_guard.listing import build_listing, listing_for
from mcp_guard.names import NameTable, ToolRef
from mcp_guard.state import RequestState

KEY = "listing-cache-key"


def config_data(key_deny: list[str]) -> dict:
    return {
        "servers": [{"name": n, "transport": "http", "url": f"http://127.0.0.1:9/{n}"} for n in ("alpha", "beta")],
        "roles": {"dev": {"tools": ["alpha/*", "beta/*"]}},
        "keys": [{"name": "k", "hash": hash_key(KEY), "roles": ["dev"], "deny": key_deny}],
    }


def tools(*names: str) -> list[types.Tool]:
    return [types.Tool(name=n, input_schema={"type": "object"}) for n in names]


def shown(gateway: Gateway, headers: list[tuple[bytes, bytes]] | None = None) -> list[str]:
    """The names a request with this key (and filter headers) is shown, checked against a fresh build."""
    state = RequestState()
    identity = gateway.governance.keys.authenticate(KEY)
    state.principal = identity.principal
    state.access.append(identity.access)
    if headers:
        rule = HeaderFilter.from_scope({"headers": headers}, gateway.catalog.servers())
        assert rule is not None
        state.access.append(rule)
    names = [t.name for t in listing_for(gateway, state).mcp_tools()]
    assert names == [t.name for t in build_listing(gateway, state).mcp_tools()]
    return names


def test_the_same_caller_gets_the_same_listing_until_the_catalog_changes() -> None:
    gateway = Gateway(parse_config(config_data([])))
    gateway.catalog.update_server("alpha", tools("read", "write"))
    state = RequestState()
    identity = gateway.governance.keys.authenticate(KEY)
    state.principal = identity.principal
    state.access.append(identity.access)
    first = listing_for(gateway, state)
    assert listing_for(gateway, state) is first
    gateway.catalog.update_server("alpha", tools("read", "write", "delete"))
    assert listing_for(gateway, state) is not first
    assert [t.name for t in listing_for(gateway, state).mcp_tools()] == ["alpha__delete", "alpha__read", "alpha__write"]


def test_a_cached_listing_follows_upstream_changes_and_removals() -> None:
    gateway = Gateway(parse_config(config_data(["beta/drop"])))
    gateway.catalog.update_server("alpha", tools("read"))
    gateway.catalog.update_server("beta", tools("query", "drop"))
    assert shown(gateway) == ["alpha__read", "beta__query"]
    gateway.catalog.update_server("beta", tools("query", "drop", "insert"))
    assert shown(gateway) == ["alpha__read", "beta__insert", "beta__query"]
    gateway.catalog.remove_server("alpha")
    assert shown(gateway) == ["beta__insert", "beta__query"]


def test_filter_headers_get_their_own_listing() -> None:
    gateway = Gateway(parse_config(config_data([])))
    gateway.catalog.update_server("alpha", tools("read", "write"))
    gateway.catalog.update_server("beta", tools("query"))
    assert shown(gateway) == ["alpha__read", "alpha__write", "beta__query"]
    assert shown(gateway, [(b"x-mcp-exclude-tools", b"*/write")]) == ["alpha__read", "beta__query"]
    assert shown(gateway, [(b"x-mcp-include-clients", b"beta")]) == ["beta__query"]
    assert shown(gateway) == ["alpha__read", "alpha__write", "beta__query"]


def test_a_keys_rights_change_is_listed_at_once() -> None:
    gateway = Gateway(parse_config(config_data([])))
    gateway.catalog.update_server("alpha", tools("read", "write"))
    assert shown(gateway) == ["alpha__read", "alpha__write"]
    changed = parse_config(config_data(["alpha/write"]))
    gateway.config = changed  # what a reload does to the running gateway (`reload.py`)
    gateway.governance.reconfigure(changed)
    assert shown(gateway) == ["alpha__read"]


@pytest.mark.anyio
async def test_a_reloaded_configuration_is_listed(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(config_data([])))
    gateway = Gateway.from_yaml(path)
    gateway.catalog.update_server("alpha", tools("read", "write"))
    gateway.catalog.update_server("beta", tools("query"))
    assert shown(gateway) == ["alpha__read", "alpha__write", "beta__query"]
    path.write_text(yaml.safe_dump(config_data(["beta/*"])))
    await gateway.reload()
    assert shown(gateway) == ["alpha__read", "alpha__write"]


def test_the_cache_keeps_at_most_its_bound() -> None:
    gateway = Gateway(parse_config(config_data([])))
    gateway.catalog.update_server("alpha", tools("read", "write"))
    bound = gateway.listings.MAX_LISTINGS
    for i in range(bound + 10):
        assert shown(gateway, [(b"x-mcp-exclude-tools", f"alpha/x{i}".encode())]) == ["alpha__read", "alpha__write"]
    assert len(gateway.listings._listings) == bound


def test_a_clash_caused_by_another_upstream_renames_a_cached_tool() -> None:
    data = config_data([])
    data["roles"]["dev"]["tools"] = ["*"]
    gateway = Gateway(parse_config(data))  # `alpha__x` is no valid configured name; the catalog takes it as given
    gateway.catalog.update_server("alpha", tools("x__run"))
    assert shown(gateway) == ["alpha__x__run"]
    gateway.catalog.update_server("alpha__x", tools("run"))  # `alpha__x__run` twice: both are renamed
    names = shown(gateway)
    assert len(names) == 2 and "alpha__x__run" not in names
    assert {str(gateway.catalog.resolve(name).ref) for name in names} == {"alpha/x__run", "alpha__x/run"}
    gateway.catalog.remove_server("alpha__x")
    assert shown(gateway) == ["alpha__x__run"]


def test_an_incrementally_rebuilt_catalog_names_every_tool_as_a_fresh_one_does() -> None:
    """Random upstream changes, with clashing names (`a` + `b__c` against `a__b` + `c`) and names that must
    be hashed (a dot, a length past 64): after each, the catalog equals one built from scratch."""
    pool = ["c", "b__c", "x", "b__x", "do.it", "y" * 70, "z"]
    servers = ["a", "a__b", "q"]
    chooser = random.Random(23)
    gateway = Gateway(parse_config(config_data([])))
    held: dict[str, list[str]] = {}
    for _ in range(200):
        server = chooser.choice(servers)
        if chooser.random() < 0.2:
            gateway.catalog.remove_server(server)
            held.pop(server, None)
        else:
            held[server] = chooser.sample(pool, chooser.randint(0, len(pool)))
            gateway.catalog.update_server(server, tools(*held[server]))
        everything = sorted({ToolRef(name, tool) for name, listed in held.items() for tool in listed})
        table = NameTable(everything)  # every name decided at once, as a full rebuild does
        got = [(e.ref, e.name) for e in gateway.catalog.entries()]
        assert got == [(ref, table.name_of(ref)) for ref in everything]
        assert all(gateway.catalog.resolve(name) is gateway.catalog.get(ref) for ref, name in got)
