"""The bounded queue between `AuditLog.record` and its writer task.

Not an anyio memory stream on purpose: a receiver cancelled (by a timeout) just as an item is handed to
it loses that item, and the writer waits with timeouts. Here entries stay in a deque until the writer
takes them, so a timeout never costs a record. Callers that find the queue full wait for a slot in
arrival order (anyio's semaphore is FIFO and hands a released slot straight to the first waiter), so
records keep the order in which `record()` was called.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import anyio

from .record import AuditRecord


@dataclass(slots=True)
class Entry:
    """A record to write, or (`record=None`) a flush marker; `done` is set once it is written."""

    record: AuditRecord | None
    done: anyio.Event | None = None


class BatchQueue:
    """FIFO of at most `size` entries; `put` waits while it is full."""

    def __init__(self, size: int) -> None:
        self._entries: deque[Entry] = deque()
        self._slots = anyio.Semaphore(size)
        self._arrived = anyio.Event()
        self._wanted = 1  # how many entries the writer waits for: it is woken once, not per entry
        self._awaited = 0  # entries whose caller waits for them: the writer should not linger

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def awaited(self) -> bool:
        """True when some queued entry has a caller waiting for it to be written."""
        return self._awaited > 0

    def put_nowait(self, entry: Entry) -> bool:
        """Queue `entry` if there is room now (and nobody waits for room); tell whether it was."""
        try:
            self._slots.acquire_nowait()
        except anyio.WouldBlock:
            return False
        self._append(entry)
        return True

    async def put(self, entry: Entry) -> None:
        """Queue `entry`, waiting in line for room."""
        await self._slots.acquire()
        self._append(entry)

    async def wait(self, count: int = 1) -> None:
        """Return once at least `count` entries are queued, or an entry whose caller waits for it arrives;
        cancelling this loses nothing."""
        self._wanted = count
        while len(self._entries) < count and not self._awaited:
            self._arrived = anyio.Event()
            await self._arrived.wait()

    def take(self, limit: int) -> list[Entry]:
        """Remove and return up to `limit` entries, oldest first, freeing their slots."""
        taken = [self._entries.popleft() for _ in range(min(limit, len(self._entries)))]
        for entry in taken:
            self._awaited -= entry.done is not None
            self._slots.release()
        return taken

    def _append(self, entry: Entry) -> None:
        self._entries.append(entry)
        awaited = entry.done is not None
        self._awaited += awaited
        # Waking the writer for every record of a batch it lingers over cost ~5 % of a governed call's CPU
        if awaited or len(self._entries) >= self._wanted:
            self._arrived.set()
