"""Confirmation ids in Redis: issued by one gateway process, accepted by another, exactly once."""

import uuid

import anyio
import pytest

from mcp_guard.chat.confirmation_redis import RedisConfirmationStore
from mcp_guard.chat.confirmations import Binding, Pending

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
