"""What upstream connections announce for MCP clients (log messages, task status changes), handed over by
their readers and told to clients by one task of the gateway's, so a slow client never holds an upstream."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectSendStream

T = TypeVar("T")
SEND_TIMEOUT = 1.0  # seconds one notification waits for a client that does not read its stream


class Inbox(Generic[T]):
    """Items announced by a server, queued by `post` (synchronous: the upstream connection's reader calls it)
    and delivered one at a time by `run` while the gateway runs; a full inbox drops what arrives."""

    def __init__(self, size: int, deliver: Callable[[str, T], Awaitable[None]]) -> None:
        self._size = size
        self._deliver = deliver
        self._queue: MemoryObjectSendStream[tuple[str, T]] | None = None

    def post(self, server: str, item: T) -> None:
        if self._queue is not None:
            try:
                self._queue.send_nowait((server, item))
            except anyio.WouldBlock:
                pass

    async def run(self) -> None:
        queue, inbox = anyio.create_memory_object_stream[tuple[str, T]](self._size)
        self._queue = queue
        try:
            async with queue, inbox:
                async for server, item in inbox:
                    await self._deliver(server, item)
        finally:
            self._queue = None


async def notify(connection: Any, method: str, params: dict[str, Any]) -> bool:
    """Send a notification on a handshake-era session's connection; False when it has gone or did not take it
    within `SEND_TIMEOUT` (a client that stopped reading must not hold the others)."""
    with anyio.move_on_after(SEND_TIMEOUT):
        try:
            await connection.outbound.notify(method, params)
        except Exception:  # noqa: BLE001 - a session that has gone cannot be told
            return False
        return True
    return False
