"""Dashboard logins under way at the identity provider (`oauth_login.py`), kept in this process's memory
between the redirect to the issuer and its callback."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable

from .oauth_client import Attempt

ATTEMPT_SECONDS = 600  # time to log in at the issuer


class Attempts:
    """Logins under way, by the SHA-256 of their cookie's id; each taken once, gone after `ATTEMPT_SECONDS`,
    at most `capacity` at once (the oldest dropped: starting logins cannot grow memory without bound)."""

    def __init__(self, capacity: int = 1000, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self._clock = clock
        self._attempts: dict[str, tuple[float, Attempt]] = {}

    def put(self, attempt: Attempt) -> str:
        now = self._clock()
        for digest, (started, _) in list(self._attempts.items()):
            if now - started > ATTEMPT_SECONDS or len(self._attempts) >= self.capacity:
                del self._attempts[digest]
        token = secrets.token_urlsafe(32)
        self._attempts[_digest(token)] = (now, attempt)
        return token

    def take(self, token: str) -> Attempt | None:
        found = self._attempts.pop(_digest(token), None) if token else None
        if found is None or self._clock() - found[0] > ATTEMPT_SECONDS:
            return None
        return found[1]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()
