"""`TcpProxy`: a loopback TCP forwarder a test controls, to make a service unreachable and bring it back.

It runs its own event loop in a thread, so it keeps forwarding while the test's loop is busy with load.
`cut()` stops listening (new connections are refused) and resets every open connection, as a crashed
server or a dropped route would look to a client; `restore()` listens again on the same port. With
several targets it is a round-robin load balancer: each new connection goes to the next target.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from tests.support.processes import LOOPBACK, free_port

_T = TypeVar("_T")
_CHUNK = 65536


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `targets` (round robin per connection)."""

    def __init__(self, targets: Sequence[tuple[str, int]]) -> None:
        self.targets = list(targets)
        self.port = free_port()
        self.connections: Counter[int] = Counter()  # target index → connections forwarded
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"proxy:{self.port}", daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._every: list[asyncio.StreamWriter] = []  # every writer ever made, to close them all at exit
        self._next = 0

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._run(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def cut(self) -> None:
        """Refuse new connections and reset the open ones."""
        self._run(self._cut())

    def restore(self) -> None:
        """Accept and forward connections again, on the same port."""
        self._run(self._listen())

    def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, LOOPBACK, self.port, reuse_address=True)

    async def _cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._open):
            writer.transport.abort()  # RST, not a polite FIN: the peer sees the connection die
        self._open.clear()

    async def _shutdown(self) -> None:
        """Cut, then let every connection's tasks finish, so no socket outlives the loop."""
        await self._cut()
        # A connection accepted just before the cut has a transport but its `_accept` task may not have run
        # yet; cancelled before its first step, it would never record its writer, and its socket would
        # outlive the loop. A few loop turns let every such task record it (its first step, before any await).
        for _ in range(5):
            await asyncio.sleep(0)
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for writer in self._every:
            writer.transport.abort()
        # aborted transports close their sockets on a later loop iteration; under load that can take a while,
        # and a socket still open when the loop closes is a ResourceWarning (an error in this suite)
        for _ in range(100):
            if all(getattr(w.transport, "_sock", None) is None for w in self._every):
                break
            await asyncio.sleep(0.01)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._every.append(writer)
        index, self._next = self._next, (self._next + 1) % len(self.targets)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.targets[index])
        except OSError:
            writer.transport.abort()
            return
        self._every.append(upstream_writer)
        if self._server is None:  # cut while this connection was being set up: it dies like the others
            for end in (writer, upstream_writer):
                end.transport.abort()
            return
        self.connections[index] += 1
        self._open.update((writer, upstream_writer))
        try:
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            self._open.difference_update((writer, upstream_writer))
            for end in (writer, upstream_writer):
                end.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()  # the other direction then ends too
