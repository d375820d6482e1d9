"""Dashboard sessions: an opaque random id in the cookie, everything else in this process's memory.

The session keeps the admin key's *hash*, never the key: each request resolves it again through the key
resolver, so deactivating the key (or taking its admin role away) ends its sessions at their next request.
A session opened with an OAuth access token keeps the token's verified claims and expiry instead (never the
token): each request maps the claims again (a group no longer mapped to an admin role ends it), and the
session ends when the token expires.
The id is stored only as its SHA-256, so a memory dump gives no usable cookie. Each session carries its CSRF
token (the synchronizer token every form posts back) and one pending notice (shown once, after a redirect).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Session:
    key_hash: str  # "" for an OAuth session
    csrf: str
    created: float
    seen: float
    notice: tuple[str, str] | None = None  # (kind, text) for the next page: "ok" / "error"
    secret: str | None = None  # a key just created: shown on the next page, then forgotten
    claims: dict[str, Any] | None = None  # an OAuth session: the access token's verified claims
    expires: float | None = None  # an OAuth session: the token's `exp` (epoch seconds)

    def csrf_ok(self, presented: str) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf.encode(), presented.encode())

    def take_notice(self) -> tuple[tuple[str, str] | None, str | None]:
        """The pending notice and secret, once: a reload of the page no longer shows them."""
        notice, secret = self.notice, self.secret
        self.notice = self.secret = None
        return notice, secret


class SessionStore:
    """Sessions end `idle` seconds after their last use or `lifetime` seconds after login; beyond `capacity`
    the oldest is dropped (a flood of logins cannot grow memory without bound)."""

    def __init__(
        self, *, idle: float, lifetime: float, capacity: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.idle = idle
        self.lifetime = lifetime
        self.capacity = capacity
        self._clock = clock
        self._sessions: dict[str, Session] = {}  # SHA-256 of the id → session, oldest login first

    def open(
        self, key_hash: str, *, claims: dict[str, Any] | None = None, expires: float | None = None
    ) -> tuple[str, Session]:
        """A new session for the key with this hash (or the token with these claims): its id (for the
        cookie) and the session."""
        now = self._clock()
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        session = Session(key_hash=key_hash, csrf=csrf, created=now, seen=now, claims=claims, expires=expires)
        while len(self._sessions) >= self.capacity:
            self._sessions.pop(next(iter(self._sessions)))
        self._sessions[_digest(token)] = session
        return token, session

    def get(self, token: str) -> Session | None:
        """The live session of this id (its use is noted), or None if unknown or expired."""
        digest = _digest(token)
        session = self._sessions.get(digest)
        if session is None:
            return None
        now = self._clock()
        if now - session.seen > self.idle or now - session.created > self.lifetime:
            del self._sessions[digest]
            return None
        session.seen = now
        return session

    def close(self, token: str) -> None:
        self._sessions.pop(_digest(token), None)

    def __len__(self) -> int:
        return len(self._sessions)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()
