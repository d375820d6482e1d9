"""The pool of Code Mode worker processes: started on first use, bounded, recycled, killed from outside.

- **Lazy.** No worker exists until the first execution; a gateway that never runs a program pays nothing.
- **Bounded.** At most `workers` processes; further executions wait for one (within their own timeout).
- **Warm.** Whenever a worker is taken and none is left idle, one more is started in the background, so
  the next execution rarely waits for V8 to start.
- **Recycled.** A worker is replaced after `runs_per_worker` runs, after any run it asked to leave (a
  timeout, a memory stop), and after any crash or kill.
- **Dies with the gateway.** Workers are spawned from one long-lived thread of the pool (a worker's
  `PR_SET_PDEATHSIG` fires when the thread that spawned it ends), and `close()` kills them all.

The pool is not bound to an event loop: sockets are driven by whatever loop runs each execution, and a
waiter on another loop is woken thread-safely. So one pool can serve a whole process.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from .settings import CodeModeSettings
from .worker_process import WorkerProcess

_REAP_TIMEOUT_SECONDS = 10.0


class PoolClosed(RuntimeError):
    """The pool was closed (the gateway is shutting down)."""


class WorkerPool:
    """Hands out workers: `acquire` one for a run, `release` it after (or `discard` it)."""

    def __init__(self, *, size: int = 4, runs_per_worker: int = 100, nice: int = 10) -> None:
        self.size = size
        self.runs_per_worker = runs_per_worker
        self.nice = nice
        self._idle: list[WorkerProcess] = []
        self._live = 0  # idle + busy + starting
        self._waiters: deque[asyncio.Future[WorkerProcess]] = deque()
        self._lock = threading.Lock()
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mcp-guard-codemode")
        self._closed = False

    @classmethod
    def from_settings(cls, settings: CodeModeSettings) -> WorkerPool:
        return cls(size=settings.workers, runs_per_worker=settings.runs_per_worker, nice=settings.worker_nice)

    async def acquire(self) -> WorkerProcess:
        """An idle worker, a new one, or the next one released; cancel the await to give up waiting."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._closed:
                raise PoolClosed("the Code Mode worker pool is closed")
            worker = self._take_idle()
            spawn = worker is None and self._live < self.size
            if spawn:
                self._live += 1
            waiter: asyncio.Future[WorkerProcess] | None = None
            if worker is None and not spawn:
                waiter = loop.create_future()
                self._waiters.append(waiter)
        if worker is not None:
            self._keep_warm()
            return worker
        if spawn:
            try:
                worker = await loop.run_in_executor(self._spawner, WorkerProcess.spawn, self.nice)
            except BaseException:
                self._forget_one()
                raise
            self._keep_warm()
            return worker
        assert waiter is not None
        try:
            return await waiter
        except asyncio.CancelledError:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if waiter.done() and not waiter.cancelled():
                self.release(waiter.result())  # handed over just as the wait was given up
            raise

    def release(self, worker: WorkerProcess) -> None:
        """Return a worker after a clean run; it is replaced when it has run enough."""
        worker.runs += 1
        if worker.runs >= self.runs_per_worker or not worker.alive():
            self.discard(worker)
            return
        worker.writer.rebind()
        with self._lock:
            if self._closed:
                worker.kill()
            elif not self._hand_over(worker):
                self._idle.append(worker)
                return
        if self._closed:
            self._reap_later(worker)

    def discard(self, worker: WorkerProcess) -> None:
        """Kill a worker (crashed, killed, asked to leave, or run enough) and start a replacement if needed."""
        worker.kill()
        self._reap_later(worker)
        self._forget_one()

    def close(self) -> None:
        """Kill every idle worker now; busy ones are killed as their runs end. Waiters get `PoolClosed`."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            waiters, self._waiters = list(self._waiters), deque()
        for worker in idle:
            worker.kill()
            self._reap_later(worker)
        for waiter in waiters:
            _resolve_soon(waiter, PoolClosed("the Code Mode worker pool is closed"))
        self._spawner.shutdown(wait=False)

    def _take_idle(self) -> WorkerProcess | None:
        while self._idle:
            worker = self._idle.pop()
            if worker.alive():
                return worker
            worker.kill()
            self._live -= 1
        return None

    def _hand_over(self, worker: WorkerProcess) -> bool:
        """Give `worker` to the first waiter still waiting (the lock is held); False when there is none."""
        while self._waiters:
            waiter = self._waiters.popleft()
            loop = waiter.get_loop()
            if waiter.done() or loop.is_closed():
                continue
            try:
                loop.call_soon_threadsafe(self._deliver, waiter, worker)
            except RuntimeError:  # the loop closed meanwhile
                continue
            return True
        return False

    def _deliver(self, waiter: asyncio.Future[WorkerProcess], worker: WorkerProcess) -> None:
        """On the waiter's loop: hand the worker over, or put it back when the wait was given up meanwhile."""
        if not waiter.done():
            waiter.set_result(worker)
            return
        with self._lock:
            if self._closed or self._hand_over(worker):
                closed = self._closed
            else:
                self._idle.append(worker)
                return
        if closed:
            worker.kill()
            self._reap_later(worker)

    def _forget_one(self) -> None:
        """One worker fewer: a waiter, if any, gets a new one started for it."""
        with self._lock:
            self._live -= 1
            if self._closed or not self._waiters or self._live >= self.size:
                return
            self._live += 1
        self._spawner.submit(self._spawn_in_background)

    def _keep_warm(self) -> None:
        with self._lock:
            if self._closed or self._idle or self._live >= self.size:
                return
            self._live += 1
        self._spawner.submit(self._spawn_in_background)

    def _spawn_in_background(self) -> None:
        try:
            worker = WorkerProcess.spawn(self.nice)
        except Exception:
            with self._lock:
                self._live -= 1
            return
        with self._lock:
            if not self._closed and not self._hand_over(worker):
                self._idle.append(worker)
                return
            closed = self._closed
        if closed:
            worker.kill()
            self._reap_later(worker)

    def _reap_later(self, worker: WorkerProcess) -> None:
        def reap() -> None:
            worker.reap(_REAP_TIMEOUT_SECONDS)
            worker.close_files()

        if self._closed:
            threading.Thread(target=reap, daemon=True).start()
        else:
            self._spawner.submit(reap)


def _resolve_soon(waiter: asyncio.Future[WorkerProcess], exception: BaseException) -> None:
    def fail() -> None:
        if not waiter.done():
            waiter.set_exception(exception)

    loop = waiter.get_loop()
    if not loop.is_closed():
        try:
            loop.call_soon_threadsafe(fail)
        except RuntimeError:  # the loop closed meanwhile
            pass


_default: WorkerPool | None = None
_default_lock = threading.Lock()


def default_pool() -> WorkerPool:
    """The process-wide pool `execute` uses when it is given none (default settings); closed at exit."""
    global _default
    with _default_lock:
        if _default is None:
            _default = WorkerPool.from_settings(CodeModeSettings())
            atexit.register(_default.close)
        return _default
