"""`Checkpointer`: signs a checkpoint over the stored chain's head every N records or T seconds.

It reads the head from the store itself (its own connection), not from one writer's memory, so with
several gateway processes on one chain every checkpoint names a position the shared chain really had, and
a process that finds a checkpoint at or past the head written by another skips its own (the store checks
and writes in one atomic step, so two processes never both sign one head). It looks once a
second (or every `every_seconds`, if shorter): "every N records" means "within a second of the head
passing N records beyond the last checkpoint". `running(log)` wraps the audit writer and signs one last
checkpoint after the writer drained, so a clean shutdown leaves the whole chain covered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import anyio
import anyio.to_thread

from ..storage_url import shown_url
from .backends import open_store
from .checkpoint import Checkpoint, Signer, sign
from .checkpoint_keys import read_key_material, signer_from
from .checkpoint_publish import FileCopy, Outages, Publisher, Webhook
from .checkpoint_store import CheckpointStore, open_checkpoints
from .config import AuditSettings, CheckpointSettings
from .log import AuditLog
from .store import AuditStore

logger = logging.getLogger(__name__)
_LOOK_EVERY = 1.0


class Checkpointer:
    """Decides when a checkpoint is due, signs it, stores it, and sends the copies."""

    def __init__(
        self,
        store: AuditStore,
        checkpoints: CheckpointStore,
        signer: Signer,
        settings: CheckpointSettings,
        *,
        publishers: list[Publisher] | None = None,
        name: str = "audit log",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store  # read for its head only
        self.checkpoints = checkpoints
        self.signer = signer
        self.settings = settings
        self.copies = Outages(publishers or [])
        self.name = name
        self._clock = clock
        self._last: Checkpoint | None = None  # the latest checkpoint known (ours or another process's)
        self._loaded = False
        self._since = clock()  # when time is counted from until the first checkpoint
        self._failing = False

    @classmethod
    def from_settings(cls, settings: AuditSettings, log: AuditLog) -> Checkpointer:
        """The checkpointer of `settings.checkpoints`, reading the key now (`ConfigError` if it cannot)."""
        options = settings.checkpoints
        if options is None:
            raise ValueError("audit.checkpoints is not configured")
        signer = signer_from(*read_key_material(key_file=options.key_file, key_env=options.key_env))
        memory = urlsplit(settings.sink).scheme == "memory"
        store = log.store if memory else open_store(settings.sink)  # its own connection, not the writer's
        publishers: list[Publisher] = []
        if options.copy_to is not None:
            publishers.append(FileCopy(options.copy_to))
        if options.webhook is not None:
            publishers.append(Webhook(options.webhook, log=shown_url(settings.sink), timeout=options.webhook_timeout))
        return cls(store, open_checkpoints(settings.sink), signer, options, publishers=publishers, name=log.name)

    @asynccontextmanager
    async def running(self, log: AuditLog) -> AsyncIterator[AuditLog]:
        """Run `log`'s writer and checkpoint while it runs; after it drained, sign the final head."""
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._look_forever)
                try:
                    async with log.running():
                        yield log
                finally:
                    group.cancel_scope.cancel()
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._tick_logged, True)
        finally:
            if self.store is not log.store:
                self.store.close()
            self.checkpoints.close()

    def tick(self, final: bool = False) -> Checkpoint | None:
        """(Blocking.) Sign and store a checkpoint of the stored head if one is due (with `final`, whenever
        the head moved past the last checkpoint); return it, or `None`."""
        head = self.store.last_link()
        if not self._due(head.seq, final):
            return None
        checkpoint = sign(self.signer, head.seq, head.hash, self._clock())
        if not self.checkpoints.add(checkpoint):  # another process signed this head, or a later one, first
            self._last = self.checkpoints.last()
            return None
        self._last = checkpoint
        self.copies.publish(checkpoint)
        return checkpoint

    def _due(self, head_seq: int, final: bool) -> bool:
        if not self._loaded:
            self._last, self._loaded = self.checkpoints.last(), True
        last = self._last
        if head_seq == 0 or (last is not None and head_seq <= last.seq):
            return False
        since_seq, since_time = (last.seq, last.time) if last is not None else (0, self._since)
        return (
            final
            or head_seq - since_seq >= self.settings.every_records
            or self._clock() - since_time >= self.settings.every_seconds
        )

    async def _look_forever(self) -> None:
        interval = min(_LOOK_EVERY, self.settings.every_seconds)
        while True:
            await anyio.sleep(interval)
            await anyio.to_thread.run_sync(self._tick_logged, False)

    def _tick_logged(self, final: bool) -> None:
        try:
            self.tick(final)
        except Exception as exc:  # a store that fails now is retried at the next look; the writer goes on
            if not self._failing:
                self._failing = True
                logger.error("Audit checkpoint of %r failed (%s: %s); will retry", self.name, type(exc).__name__, exc)
            self._loaded = False  # re-read the stored checkpoints next time
            return
        if self._failing:
            self._failing = False
            logger.info("Audit checkpoints of %r work again", self.name)
