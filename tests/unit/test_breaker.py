"""The circuit breaker on its own, with operations that answer, fail or hang (real time, short stalls)."""

import anyio
import pytest

from mcp_guard.breaker import CircuitBreaker, CircuitOpen

pytestmark = pytest.mark.anyio


class Store:
    """A store whose operations answer, fail or hang, and whose probe answers only when it is up."""

    def __init__(self) -> None:
        self.mode = "up"
        self.asked = 0
        self.resumed = anyio.Event()

    async def op(self) -> str:
        self.asked += 1
        if self.mode == "failing":
            raise ConnectionError("refused")
        if self.mode == "hung":
            await self.resumed.wait()
        return "ok"

    async def probe(self) -> None:
        await self.op()


def breaker(store: Store, **options: float) -> CircuitBreaker:
    return CircuitBreaker("Test store", store.probe, **{"stall": 0.2, "probe_every": 0.1, **options})


async def test_failures_in_a_row_open_it_and_a_probe_closes_it():
    store = Store()
    guard = breaker(store)
    store.mode = "failing"
    for _ in range(3):
        with pytest.raises(ConnectionError):
            await guard.call(store.op)
    assert guard.open
    asked = store.asked
    with pytest.raises(CircuitOpen):
        await guard.call(store.op)
    assert store.asked == asked  # not asked while open
    store.mode = "up"
    with anyio.fail_after(2):
        while guard.open:
            await anyio.sleep(0.01)
    assert await guard.call(store.op) == "ok"
    await guard.aclose()


async def test_a_failure_between_successes_does_not_open_it():
    store = Store()
    guard = breaker(store)
    for mode in ["failing", "failing", "up", "failing", "failing", "up"]:
        store.mode = mode
        try:
            await guard.call(store.op)
        except ConnectionError:
            pass
    assert not guard.open
    await guard.aclose()


async def test_a_stall_opens_it_and_releases_the_waiting_operations_at_once():
    store = Store()
    guard = breaker(store)
    store.mode = "hung"
    outcomes: list[object] = []

    async def one() -> None:
        try:
            outcomes.append(await guard.call(store.op))
        except CircuitOpen as exc:
            outcomes.append(exc)

    started = anyio.current_time()
    with anyio.fail_after(2):
        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(one)
    waited = anyio.current_time() - started
    assert all(isinstance(outcome, CircuitOpen) for outcome in outcomes) and len(outcomes) == 5
    assert 0.2 <= waited < 1.0 and guard.open
    store.resumed.set()  # the store answers again: the next probe closes the breaker
    store.mode = "up"
    with anyio.fail_after(2):
        while guard.open:
            await anyio.sleep(0.01)
    await guard.aclose()


async def test_a_busy_store_that_keeps_answering_is_not_a_stall():
    """Many operations queue, each answers slowly, but something completes all the time: never opened."""
    limiter = anyio.Semaphore(2)

    async def slow() -> str:
        async with limiter:
            await anyio.sleep(0.02)
        return "ok"

    guard = CircuitBreaker("Busy store", slow, stall=0.2, probe_every=0.1)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            for _ in range(60):  # 60 x 20 ms over 2 lanes: 0.6 s in all, far beyond the stall
                group.start_soon(guard.call, slow)
    assert not guard.open
    await guard.aclose()
