"""`AuditLog`: the gateway's audit sink. One writer task commits records in batches (group commit).

`record()` hands the record to a bounded queue; one writer task, started by `running()`, takes everything
queued, redacts and normalises it, seals it into the hash chain and writes it in one transaction, all in
worker threads, so neither that work nor storage blocks the event loop. With `durability: commit` (the
default) `record()` returns only once its batch is committed: the pipeline answers a call after that, so
an answered call has a durable record whatever happens to the process next. Concurrent calls share a
commit: while one batch is being written, the records of other calls gather into the next one, so the
cost of a commit is paid once per batch rather than once per call (`bench/audit_durability.py`). With
`durability: queued`, `record()` returns once the record is queued and the writer lingers up to
`flush_interval` to fill a batch: faster, but a crash loses what is still queued.

Nothing is dropped otherwise: a full queue makes callers wait (one warning per episode), and a failing
store keeps its batch and is retried with backoff until it works again. Leaving `running()` writes what
is queued; if the store still fails after `shutdown_timeout`, the unwritten records go to the error log
rather than nowhere.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, TypeVarTuple

import anyio
import anyio.to_thread

from ..storage_url import shown_url
from .backends import open_store
from .chain import Link, normalized, seal
from .config import AuditSettings
from .query import CostUsage, RecordFilter, Timestamp, decision_filter, epoch, tool_filter
from .queue import BatchQueue, Entry
from .record import AuditRecord
from .redact import Redactor
from .store import AuditStore, ChainConflict
from .verify import VerifyReport, verify_store

logger = logging.getLogger(__name__)

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
_DAY = 86_400.0
_PURGE_EVERY = 3_600.0


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between attempts to write to a failing store: `first`, doubling, at most `most` seconds."""

    first: float = 0.1
    most: float = 30.0

    def delay(self, failures: int) -> float:
        return min(self.first * 2.0 ** (failures - 1), self.most)


@dataclass(slots=True)
class _Batch:
    """Records being written: as recorded until `prepared`, then their stored forms (kept for retries)."""

    records: list[AuditRecord]
    prepared: bool = False


class AuditLog:
    """An `AuditSink` (see `state.py`) backed by an `AuditStore`."""

    def __init__(
        self,
        store: AuditStore,
        settings: AuditSettings | None = None,
        *,
        name: str | None = None,
        clock: Callable[[], float] = time.time,
        backoff: Backoff | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or AuditSettings()
        self.name = name or type(store).__name__  # how logs name the store
        self.last_error: str | None = None  # the latest write failure, until a write succeeds
        self.write_failures = 0  # failed attempts to write a batch since start (metrics)
        self._redact = Redactor(self.settings.redact)
        self._queue = BatchQueue(self.settings.queue_size)
        self._limiter = anyio.CapacityLimiter(1)  # one store call at a time: connections are not shared
        self._clock = clock
        self._backoff = backoff or Backoff()
        self._head: Link | None = None  # the chain head after our last write; None = ask the store
        self._in_flight: list[Entry] = []
        self._running = False
        self._congested = False
        self._warned_not_running = False

    @classmethod
    def from_settings(cls, settings: AuditSettings) -> AuditLog:
        """The log for `settings.sink`; nothing is opened until the writer runs."""
        # Named without credentials: the name appears in every log line about the store.
        return cls(open_store(settings.sink), settings, name=shown_url(settings.sink))

    @property
    def pending(self) -> int:
        """Entries queued or being written."""
        return len(self._queue) + len(self._in_flight)

    async def record(self, record: AuditRecord) -> None:
        """Queue `record` (redacted when written); with `durability: commit`, return once it is committed.

        The record is handed over, not copied: neither it nor its arguments may change afterwards. Redacting
        and normalising it here cost ≈ 12 µs per tool call; the writer does it in a worker thread."""
        if not self.settings.synchronous:
            await self._enqueue(Entry(record))
        elif self._running:
            done = anyio.Event()
            await self._enqueue(Entry(record, done))
            await done.wait()
        else:  # nobody would write it (a host app that never ran the gateway's lifespan): write it now
            self._warn_not_running()
            with anyio.CancelScope(shield=True):
                await self._write([record])

    async def flush(self) -> None:
        """Wait until every record queued before this call is written (needs `running()`)."""
        done = anyio.Event()
        await self._enqueue(Entry(None, done))
        await done.wait()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[AuditLog]:
        """Run the writer (and hourly retention purges); on exit, write everything queued."""
        if self._running:
            raise RuntimeError(f"audit log {self.name!r} is already running")
        self._running, drained = True, True
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._write_forever)
                if self.settings.retention_days is not None:
                    group.start_soon(self._purge_hourly)
                try:
                    yield self
                finally:
                    drained = await self._drain()
                    group.cancel_scope.cancel()
        finally:
            self._running = False
            if not drained:
                self._abandon()
            with anyio.CancelScope(shield=True):
                await self._in_thread(self.store.close)

    async def query(
        self,
        *,
        key_id: str | None = None,
        team: str | None = None,
        tool: str | None = None,
        decision: str | None = None,
        virtual_server: str | None = None,
        since: Timestamp | None = None,
        until: Timestamp | None = None,
        call_id: str | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Stored records, newest first; `tool` is `server/tool` or `server/*`. With `durability: queued`,
        records still queued are not seen (`flush()` first to read your own writes)."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit!r}")
        server, tool_name = tool_filter(tool)
        filters = RecordFilter(
            key_id=key_id,
            team=team,
            server=server,
            tool=tool_name,
            decision=decision_filter(decision),
            virtual_server=virtual_server,
            since=epoch(since),
            until=epoch(until),
            call_id=call_id,
            before_seq=before_seq,
            limit=limit,
        )
        return [row.as_dict() for row in await self._in_thread(self.store.query, filters)]

    async def cost_usage(
        self,
        *,
        team: str | None = None,
        key_id: str | None = None,
        customer: str | None = None,
        since: Timestamp,
        until: Timestamp,
    ) -> CostUsage:
        """Spend and number of the allowed calls in [since, until), per tool (highest cost first)."""
        filters = RecordFilter(team=team, key_id=key_id, customer=customer, since=epoch(since), until=epoch(until))
        return await self._in_thread(self.store.cost_usage, filters)

    async def purge_expired(self, now: float | None = None) -> int:
        """Delete records older than `retention_days` (from the start of the chain); return how many."""
        days = self.settings.retention_days
        if days is None:
            return 0
        cutoff = (self._clock() if now is None else now) - days * _DAY
        purged = await self._in_thread(self.store.purge_before, cutoff)
        if purged:
            logger.info("Audit retention: purged %d records older than %d days from %r", purged, days, self.name)
        return purged

    async def verify(self) -> VerifyReport:
        """Verify the stored chain (writes wait meanwhile)."""
        return await self._in_thread(verify_store, self.store)

    async def _enqueue(self, entry: Entry) -> None:
        if self._queue.put_nowait(entry):
            return
        if not self._congested:
            self._congested = True
            logger.warning(
                "Audit queue of %r is full (%d entries): tool calls now wait for the writer",
                self.name,
                self.settings.queue_size,
            )
        with anyio.CancelScope(shield=True):  # a caller cancelled while waiting must not lose its record
            await self._queue.put(entry)

    def _warn_not_running(self) -> None:
        if not self._warned_not_running:
            self._warned_not_running = True
            logger.warning(
                "Audit log %r is not running (is the gateway's lifespan running?): each call writes its record "
                "itself, one transaction per call",
                self.name,
            )

    async def _write_forever(self) -> None:
        while True:
            await self._queue.wait()
            await self._gather()
            await self._commit(self._queue.take(self.settings.batch_size))
            if self._congested and not self._queue:
                self._congested = False
                logger.info("Audit queue of %r has drained; calls no longer wait", self.name)

    async def _gather(self) -> None:
        """Give a small batch up to `flush_interval` to grow, unless a caller waits for it."""
        deadline = anyio.current_time() + self.settings.flush_interval
        enough = min(self.settings.batch_size, self.settings.queue_size)  # a full queue cannot grow
        while len(self._queue) < enough and not self._queue.awaited:
            left = deadline - anyio.current_time()
            if left <= 0:
                return
            with anyio.move_on_after(left):
                await self._queue.wait(enough)

    async def _commit(self, batch: list[Entry]) -> None:
        """Write the batch's records, then wake their waiters."""
        self._in_flight = batch
        await self._write([entry.record for entry in batch if entry.record is not None])
        self._in_flight = []
        for entry in batch:
            if entry.done is not None:
                entry.done.set()

    async def _write(self, records: list[AuditRecord]) -> None:
        """Write `records` in one transaction, retrying until the store takes them."""
        batch = _Batch(records)
        failures = 0
        while batch.records:
            try:
                self._head = await self._in_thread(self._store_batch, self._head, batch)
                break
            except Exception as exc:  # whatever the store raises: keep the records, never stop the gateway
                if not batch.prepared:
                    raise  # not the store's failure: records that cannot be stored at all (as ever)
                self._head = None  # re-read the stored head before the next attempt
                failures += 1
                await self._retry_later(exc, len(batch.records), failures)
        if failures:
            logger.warning("Audit store %r works again: wrote %d records held back", self.name, len(batch.records))
            self.last_error = None

    def _store_batch(self, head: Link | None, batch: _Batch) -> Link:
        """(Worker thread.) The batch's stored forms (once), then written after `head`: one trip to a worker
        thread per batch, which costs ~70 µs of CPU (both threads woken), more than a small batch's writing."""
        if not batch.prepared:
            batch.records = self._stored_forms(batch.records)
            batch.prepared = True
        return self._append(head, batch.records)

    def _stored_forms(self, records: list[AuditRecord]) -> list[AuditRecord]:
        """(Worker thread.) The records as they are stored: redacted, then normalised (`chain.normalized`)."""
        return [self._stored_form(record) for record in records]

    def _stored_form(self, record: AuditRecord) -> AuditRecord:
        try:
            return normalized(self._redact(record))
        except Exception:  # arguments JSON cannot hold (a cycle): keep the record of the call, without them
            logger.exception(
                "Audit record of call %s has arguments that cannot be stored; dropping them", record.call_id
            )
            return normalized(self._redact(dataclasses.replace(record, arguments={})))

    def _append(self, head: Link | None, records: list[AuditRecord]) -> Link:
        """(Worker thread.) Seal `records` after the stored head and write them; re-seal on a conflict."""
        head = self.store.last_link() if head is None else head
        while True:
            sealed = seal(head, records)
            try:
                self.store.append_batch(sealed)
                return sealed[-1].link
            except ChainConflict as conflict:  # another process appended first: continue after it
                head = conflict.head

    async def _retry_later(self, exc: Exception, count: int, failures: int) -> None:
        delay = self._backoff.delay(failures)
        self.last_error = f"{type(exc).__name__}: {exc}"
        self.write_failures += 1
        logger.log(
            logging.ERROR if failures == 1 else logging.WARNING,
            "Audit store %r failed to write %d records (%s); they stay queued, attempt %d in %.1fs",
            self.name,
            count,
            self.last_error,
            failures + 1,
            delay,
            exc_info=exc if failures == 1 else None,
        )
        await anyio.sleep(delay)

    async def _purge_hourly(self) -> None:
        while True:
            try:
                await self.purge_expired()
            except Exception as exc:  # a failed purge must not stop the writer; the next one retries
                logger.error("Audit retention purge of %r failed (%s); next attempt in an hour", self.name, exc)
            await anyio.sleep(_PURGE_EVERY)

    async def _drain(self) -> bool:
        """Flush within `shutdown_timeout`, even when shutdown itself is a cancellation."""
        with anyio.move_on_after(self.settings.shutdown_timeout, shield=True):
            await self.flush()
            return True
        return False

    def _abandon(self) -> None:
        """Last resort when the store never recovered: put the records in the error log."""
        entries = self._in_flight + self._queue.take(len(self._queue))
        records = [entry.record for entry in entries if entry.record is not None]
        self._in_flight = []
        logger.error(
            "Audit store %r still failing at shutdown (%s): logging %d unwritten records instead",
            self.name,
            self.last_error,
            len(records),
        )
        for record in records:
            logger.error("unwritten audit record: %s", json.dumps(self._stored_form(record).as_dict(), sort_keys=True))

    async def _in_thread(self, function: Callable[[*Ts], T], *args: *Ts) -> T:
        return await anyio.to_thread.run_sync(function, *args, limiter=self._limiter)
