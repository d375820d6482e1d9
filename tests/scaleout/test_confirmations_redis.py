"""Confirmation ids in Redis: issued by one gateway process, accepted by another, exactly once."""

import os
import signal
import time
import uuid

import anyio
import pytest

from mcp_guard.breaker import STALL
from mcp_guard.chat.confirmation_redis import RedisConfirmationStore
from mcp_guard.chat.confirmation_store import Binding, Pending
from mcp_guard.errors import ServiceUnavailable
from tests.scaleout.services import own_redis
from tests.support.processes import free_port

pytestmark = pytest.mark.anyio

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def stores():
    """Two stores on one Redis, as two processes would have; a fresh prefix per test."""
    url = f"{REDIS}?prefix=test-confirm-{uuid.uuid4().hex}"
    made = [RedisConfirmationStore(url, ttl=60), RedisConfirmationStore(url, ttl=60)]
    yield made
    for store in made:
        await store.aclose()


BINDING = Binding("key-1", "files/delete", "a" * 64)


async def test_issued_by_one_accepted_by_the_other_once(stores):
    first, second = stores
    await first.add(Pending("c1", BINDING, expires_at=1000.0), now=900.0)
    assert await second.consume("c1", BINDING, now=950.0) is None
    assert await first.consume("c1", BINDING, now=951.0) == "used"


async def test_concurrent_consumers_admit_exactly_one(stores):
    first, second = stores
    await first.add(Pending("c2", BINDING, expires_at=1000.0), now=900.0)
    answers = []

    async def consume(store) -> None:
        answers.append(await store.consume("c2", BINDING, now=950.0))

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(consume, stores[i % 2])
    assert answers.count(None) == 1 and answers.count("used") == 19


@pytest.mark.parametrize(
    ("binding", "now", "problem"),
    [
        (Binding("key-2", "files/delete", "a" * 64), 950.0, "foreign"),
        (Binding("key-1", "files/delete", "b" * 64), 950.0, "mismatch"),
        (Binding("key-1", "files/rm", "a" * 64), 950.0, "mismatch"),
        (BINDING, 1000.0, "expired"),
    ],
)
async def test_refusals(stores, binding, now, problem):
    first, second = stores
    await first.add(Pending("c3", BINDING, expires_at=1000.0), now=900.0)
    assert await second.consume("c3", binding, now=now) == problem
    assert await second.consume("nope", BINDING, now=now) == "unknown"


async def test_a_hung_redis_refuses_with_503_after_one_stall_then_at_once_until_it_answers():
    """SIGSTOP: Redis accepts connections and answers nothing. The calls in flight wait one stall, later ones
    are refused at once (not a socket timeout each), and the store is used again once Redis answers."""
    async with own_redis() as redis:
        store = RedisConfirmationStore(f"redis://127.0.0.1:{redis.port}/0", ttl=60)
        try:
            pending = Pending("c-hang", BINDING, 1_000.0 + 60)
            await store.add(pending, 1_000.0)
            os.kill(redis.pid, signal.SIGSTOP)
            try:
                started = time.monotonic()
                with pytest.raises(ServiceUnavailable, match=r"Confirmation storage 'redis://127\.0\.0\.1:\d+/0'"):
                    await store.consume("c-hang", BINDING, 1_001.0)
                assert time.monotonic() - started < STALL + 1.5
                started = time.monotonic()
                with pytest.raises(ServiceUnavailable, match="need confirmation are refused until it answers"):
                    await store.add(Pending("c-other", BINDING, 1_060.0), 1_000.0)
                assert time.monotonic() - started < STALL / 2  # the breaker is open: Redis is not asked
            finally:
                os.kill(redis.pid, signal.SIGCONT)
            with anyio.fail_after(10):
                while True:  # the breaker's probe closes it within about half a second of Redis answering
                    try:
                        assert await store.consume("c-hang", BINDING, 1_001.0) is None
                        break
                    except ServiceUnavailable:
                        await anyio.sleep(0.1)
        finally:
            await store.aclose()


async def test_a_redis_that_is_not_running_refuses_with_503_naming_it():
    store = RedisConfirmationStore(f"redis://127.0.0.1:{free_port()}/0", ttl=60)
    try:
        with pytest.raises(ServiceUnavailable, match="Confirmation storage .* is unavailable"):
            await store.add(Pending("c-down", BINDING, 1_060.0), 1_000.0)
    finally:
        await store.aclose()
