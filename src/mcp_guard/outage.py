"""`Outage`: log a shared service going away and coming back once each, not once per call.

When Redis or PostgreSQL is unreachable every call fails the same way; a traceback per call would bury
the one line an operator needs. An `Outage` logs the first failure at ERROR with what the gateway does
about it (refuses, admits, keeps records queued), again at ERROR the first time the outage has another
consequence (a budget store that first fails a settlement, then an admission: "keeping settlements" and
later "refusing priced calls" are both news to the operator), a reminder at WARNING every `remind_every` seconds with
how many calls it affected meanwhile, and one WARNING when the service answers again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

REMIND_EVERY = 30.0


class Outage:
    """The reachability of one service, as seen by one component of this process."""

    def __init__(
        self,
        logger: logging.Logger,
        service: str,
        *,
        affected: str = "calls",
        remind_every: float = REMIND_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.service = service
        self.affected = affected  # what a failure is, for the counts in the log ("calls", "refreshes")
        self.remind_every = remind_every
        self._clock = clock
        self.since: float | None = None  # when the current outage began; None while the service answers
        self._reminded = 0.0
        self._affected = 0
        self._consequences: set[str] = set()  # those already logged in the current outage

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException, consequence: str) -> None:
        """Note a failure; `consequence` says what the gateway does meanwhile ("refusing calls")."""
        now = self._clock()
        self._affected += 1
        if self.since is None:
            self.since = self._reminded = now
            self._affected = 1
        if consequence not in self._consequences:
            self._consequences.add(consequence)
            self.logger.error("%s is unreachable (%s): %s", self.service, _describe(error), consequence)
        elif now - self._reminded >= self.remind_every:
            self._reminded = now
            self.logger.warning(
                "%s still unreachable after %.0f s (%s): %s; %d %s affected so far",
                self.service,
                now - self.since,
                _describe(error),
                consequence,
                self._affected,
                self.affected,
            )

    def recovered(self) -> None:
        """Note a success; logs once if an outage was in progress."""
        if self.since is None:
            return
        self.logger.warning(
            "%s is reachable again after %.1f s (%d %s affected)",
            self.service,
            self._clock() - self.since,
            self._affected,
            self.affected,
        )
        self.since = None
        self._affected = 0
        self._consequences.clear()


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
