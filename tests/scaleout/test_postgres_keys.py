"""Runtime keys in PostgreSQL, read through each process's replica."""

from __future__ import annotations

import sys
import time

import anyio
import pytest

from mcp_guard.auth.admin import KeyAdmin, NewKey
from mcp_guard.auth.key_record import KeyRecord
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.auth.postgres_store import PostgresKeyStore
from mcp_guard.auth.replica import KeyStoreUnavailable
from mcp_guard.auth.resolver import KeyResolver
from mcp_guard.auth.store import open_key_store, replace
from mcp_guard.config import parse_config
from mcp_guard.errors import ConfigError, NotAllowed

from .proxy import TcpProxy
from .services import POSTGRES_URL, drop_schema, require, target_of, unique, via

pytestmark = pytest.mark.anyio


@pytest.fixture
def schema():
    require(POSTGRES_URL)
    name = unique("keys")
    yield name
    drop_schema(name)


def store_in(schema: str, url: str = POSTGRES_URL, **options) -> PostgresKeyStore:
    store = open_key_store(f"{url}?schema={schema}", **options)
    assert isinstance(store, PostgresKeyStore)
    return store


def record(name: str, key: str | None = None) -> KeyRecord:
    return KeyRecord(name=name, key_hash=hash_key(key or generate_key()), roles=("reader",))


async def eventually(check, within: float = 2.0) -> float:
    started = time.monotonic()
    with anyio.fail_after(within):
        while not check():
            await anyio.sleep(0.01)
    return time.monotonic() - started


async def test_a_change_in_one_process_reaches_the_others_replica_within_its_interval(schema):
    first, second = store_in(schema), store_in(schema)
    key = generate_key()
    async with first.running(), second.running():
        await first.add(record("ci", key))
        assert first.lookup(hash_key(key)) is not None  # its own change: at once
        await eventually(lambda: second.lookup(hash_key(key)) is not None, within=1.0)
        stored = await second.get(first.lookup(hash_key(key)).id)
        await second.update(replace(stored, active=False))
        delay = await eventually(lambda: not first.lookup(hash_key(key)).active, within=1.0)
        assert delay <= first.refresh_interval + 0.2
        assert [r.name for r in await first.list()] == ["ci"] and not (await first.list())[0].active
        with pytest.raises(ValueError, match="a key named 'ci' already exists"):
            await second.add(record("ci"))


async def test_the_resolver_sees_a_deactivation_here_at_once(schema):
    config = parse_config({"roles": {"reader": {"tools": ["*"]}}})
    resolver = KeyResolver(config, store_in(schema))
    async with resolver.store.running():
        key, created = await KeyAdmin(resolver).create(NewKey(name="bot", roles=["reader"]))
        identity = resolver.authenticate(key)
        assert resolver.authenticate(key) is identity  # an unchanged record keeps its identity
        await KeyAdmin(resolver).deactivate(created.id)
        with pytest.raises(NotAllowed, match="Key 'bot' is inactive"):
            resolver.authenticate(key)


async def test_an_unreachable_store_refuses_runtime_keys_once_the_replica_is_too_old(schema):
    key = generate_key()
    with TcpProxy([target_of(POSTGRES_URL)]) as proxy:
        closed = store_in(schema, via(POSTGRES_URL, proxy.port))
        opened = store_in(schema, via(POSTGRES_URL, proxy.port), fail_open=True)
        async with closed.running(), opened.running():
            await closed.add(record("ci", key))
            await eventually(lambda: opened.lookup(hash_key(key)) is not None)
            proxy.cut()
            await eventually(lambda: _refuses(closed, key), within=closed.max_staleness + 1.0)
            assert opened.lookup(hash_key(key)) is not None  # fail open: the last known keys still work
            proxy.restore()
            await eventually(lambda: not _refuses(closed, key), within=3.0)


def _refuses(store: PostgresKeyStore, key: str) -> bool:
    try:
        store.lookup(hash_key(key))
    except KeyStoreUnavailable as refused:
        assert refused.status == 503 and "the request was refused" in refused.message
        return True
    return False


def test_a_store_that_never_synchronised_refuses():
    store = store_in("never_used")
    with pytest.raises(KeyStoreUnavailable, match="has never been read"):
        store.lookup(hash_key(generate_key()))


def test_the_replica_interval_follows_cache_seconds():
    assert store_in("s", cache_seconds=1.0).refresh_interval == 0.25
    store = store_in("s", cache_seconds=0.0)
    assert store.refresh_interval == 0.05 and store.max_staleness == pytest.approx(0.15)


def test_unknown_schemes_and_missing_drivers_are_named_without_secrets(monkeypatch):
    with pytest.raises(ConfigError, match="unsupported store 'mysql://db/keys'"):
        open_key_store("mysql://root:hunter2@db/keys")
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.delitem(sys.modules, "mcp_guard.auth.postgres_store", raising=False)
    with pytest.raises(ConfigError, match=r"'postgresql://db/keys' needs the module 'psycopg'.*mcp-guard\[postgres\]"):
        open_key_store("postgresql://root:hunter2@db/keys")
