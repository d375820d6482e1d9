"""Copies of each checkpoint sent away from the audit store: a file elsewhere and a webhook.

Best effort: a failed copy never holds up the gateway or the next checkpoint, and is logged once per outage
(an error when it starts failing, an info line when it works again), not once per checkpoint.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Protocol

from ..storage_url import shown_url
from .checkpoint import Checkpoint
from .checkpoint_store import FileCheckpoints

logger = logging.getLogger(__name__)


class Publisher(Protocol):
    """Sends a checkpoint somewhere; raises on failure."""

    name: str

    def publish(self, checkpoint: Checkpoint) -> None: ...


class FileCopy:
    """Appends each checkpoint to a JSON-lines file: `mcp-guard audit verify --checkpoints PATH` reads it."""

    def __init__(self, path: str) -> None:
        self.name = f"file {path!r}"
        self._file = FileCheckpoints(path)

    def publish(self, checkpoint: Checkpoint) -> None:
        self._file.append(checkpoint)


class Webhook:
    """POSTs each checkpoint as a JSON object (its fields plus `log`, the sink without credentials)."""

    def __init__(self, url: str, *, log: str, timeout: float) -> None:
        self.name = f"webhook {shown_url(url)!r}"  # the URL may carry a token: never log it whole
        self._url, self._log, self._timeout = url, log, timeout

    def publish(self, checkpoint: Checkpoint) -> None:
        body = json.dumps({**checkpoint.as_dict(), "log": self._log}).encode()
        request = urllib.request.Request(self._url, body, {"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=self._timeout) as response:  # http(s) only: see the config
            response.read()


class Outages:
    """Publishes to every publisher, remembering which are failing so each outage is logged once."""

    def __init__(self, publishers: list[Publisher]) -> None:
        self.publishers = publishers
        self.failing: set[str] = set()

    def publish(self, checkpoint: Checkpoint) -> None:
        for publisher in self.publishers:
            try:
                publisher.publish(checkpoint)
            except Exception as exc:  # whatever a file or a remote server does: the next checkpoint tries again
                if publisher.name not in self.failing:
                    self.failing.add(publisher.name)
                    logger.error(
                        "Audit checkpoint copy to %s failed (%s: %s); logged once until it works again",
                        publisher.name,
                        type(exc).__name__,
                        exc,
                    )
                continue
            if publisher.name in self.failing:
                self.failing.discard(publisher.name)
                logger.info("Audit checkpoint copy to %s works again", publisher.name)
