"""`CircuitBreaker`: a shared store that hangs costs the gateway one short wait, not one wait per call.

A Redis that stops answering (paused, swapping, a partition that drops packets) does not refuse
connections: every operation waits for its socket timeout, so every call would wait seconds for the
answer the configured fail mode gives anyway. The breaker watches the store's operations:

- **Stalled**: operations are waiting and none has completed for `stall` seconds. A busy store still
  completes operations (200 concurrent calls queue for the 50 pooled connections, and each completion is
  progress), a hung one completes none, so this tells them apart without a per-operation timeout that a
  burst would trip. The breaker opens and the waiting operations fail at once.
- **Failing**: `trip_after` operations in a row raised (connection refused, reset, ...) with no success
  while they were under way: it opens.
- **Open**: operations fail at once with `CircuitOpen`, without touching the store, and the caller applies
  its fail mode (admit, or refuse with 503). A probe (`PING`) runs every `probe_every` seconds; the first
  that answers closes the breaker, so the store is used again within about `probe_every` of answering.

The watching and probing run in one background task while there is something to watch (asyncio only;
elsewhere the breaker still opens on failures in a row and lets one call through as the probe).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds without any completed operation while some wait. As long as the socket timeout the stores used
# to wait on every call: an overloaded store can be that slow (4 gateway processes, PostgreSQL, Redis and
# 2,000 concurrent calls on 2 cores left it silent for over a second), and tripping sooner would refuse
# calls it was about to answer.
STALL = 2.0
TRIP_AFTER = 3  # failures in a row
PROBE_EVERY = 0.5
_IDLE_STOP = 5.0  # the background task ends after this long with nothing to watch


class CircuitOpen(Exception):
    """The store stalled or failed repeatedly and has not answered a probe since: it was not asked."""


class CircuitBreaker:
    """Guards the operations on one store (see the module docstring)."""

    def __init__(
        self,
        name: str,
        probe: Callable[[], Awaitable[object]],
        *,
        stall: float = STALL,
        trip_after: int = TRIP_AFTER,
        probe_every: float = PROBE_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.stall = stall
        self.trip_after = trip_after
        self.probe_every = probe_every
        self._probe = probe
        self._clock = clock
        self.opened: float | None = None  # when it opened; None while closed
        self._failures = 0  # in a row
        self._waiting: set[anyio.CancelScope] = set()  # one per operation in flight
        self._progress = 0.0  # when an operation last completed, or the first of the waiting ones started
        self._last_success = -float("inf")
        self._task: asyncio.Task[None] | None = None
        self._probed = -float("inf")  # when the last probe started
        self._trial = False  # no asyncio loop: the next call is let through as the probe

    @property
    def open(self) -> bool:
        return self.opened is not None

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """`operation()`, unless the breaker is open (`CircuitOpen` at once) or opens meanwhile (then the
        operation is abandoned and `CircuitOpen` raised)."""
        if self.opened is not None and not self._take_trial():
            raise CircuitOpen(f"{self.name} is not answering; not asked until a probe succeeds")
        started = self._clock()
        if not self._waiting:
            self._progress = started
        self._tend()
        with anyio.CancelScope() as scope:
            self._waiting.add(scope)
            try:
                result = await operation()
            except Exception:
                self._failed(started)
                raise
            finally:
                self._waiting.discard(scope)
        if scope.cancelled_caught:
            raise CircuitOpen(f"{self.name} stopped answering (no reply for {self.stall:g} s)")
        self._succeeded()
        return result

    async def aclose(self) -> None:
        """Stop the background task (the store is being closed)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    def _succeeded(self) -> None:
        self._progress = self._last_success = self._clock()
        self._failures = 0
        self._close()

    def _failed(self, started: float) -> None:
        """A failure counts only if nothing succeeded while it was under way: an overloaded store times out
        some operations while it completes others, and that is load, not an outage."""
        self._progress = self._clock()
        if self._last_success >= started:
            return
        self._failures += 1
        if self._failures >= self.trip_after:
            self._open(f"{self._failures} operations in a row failed")

    def _open(self, why: str) -> None:
        if self.opened is None:
            self.opened = self._clock()
            logger.warning("%s: %s; answering without it until a probe succeeds", self.name, why)
            self._tend()
        for scope in list(self._waiting):  # they would only wait for their socket timeouts
            scope.cancel()

    def _close(self) -> None:
        if self.opened is not None:
            logger.warning("%s answers again after %.1f s; using it again", self.name, self._clock() - self.opened)
            self.opened = None

    def _tend(self) -> None:
        """Make sure the background task runs (it stops by itself when idle)."""
        if self._task is not None and not self._task.done():
            return
        try:
            self._task = asyncio.get_running_loop().create_task(self._watch())
        except RuntimeError:  # not on asyncio
            self._trial = self.opened is not None

    async def _watch(self) -> None:
        tick = min(self.stall, self.probe_every) / 2
        idle_since = last_tick = self._clock()
        while True:
            await anyio.sleep(tick)
            now, previous, last_tick = self._clock(), last_tick, self._clock()
            if self.opened is not None:
                await self._try_probe(now)
            elif self._waiting:
                idle_since = now
                # A late tick means this process, not the store, was held up (a starved or busy event loop
                # cannot read replies either): judge only after a tick that came on time.
                if now - self._progress >= self.stall and now - previous < 2 * tick:
                    self._open(f"no reply for {self.stall:g} s while {len(self._waiting)} operations waited")
            elif now - idle_since >= _IDLE_STOP:
                return

    async def _try_probe(self, now: float) -> None:
        if now - self._probed < self.probe_every:  # the first probe goes at once: a false alarm ends soon
            return
        self._probed = now
        try:
            with anyio.fail_after(self.probe_every):
                await self._probe()
        except Exception:  # noqa: BLE001 - still down: stay open, probe again
            return
        self._failures = 0
        self._close()

    def _take_trial(self) -> bool:
        trial, self._trial = self._trial, False
        return trial
