"""Dashboard sessions: opaque ids, idle and absolute expiry, a bounded number, CSRF tokens compared safely."""

from __future__ import annotations

import base64
import hashlib

from mcp_guard.ui.oauth_attempts import ATTEMPT_SECONDS, Attempts
from mcp_guard.ui.oauth_client import Attempt
from mcp_guard.ui.sessions import SessionStore
from tests.support.clock import ManualClock


def store(clock: ManualClock, capacity: int = 10) -> SessionStore:
    return SessionStore(idle=60, lifetime=600, capacity=capacity, clock=clock)


def test_a_session_is_found_by_its_id_only_and_keeps_the_hash_not_the_key() -> None:
    sessions = store(ManualClock())
    token, session = sessions.open("hash-of-key")
    assert sessions.get(token) is session and session.key_hash == "hash-of-key"
    assert sessions.get(token + "x") is None and sessions.get("") is None
    assert token not in repr(sessions.__dict__)  # only its digest is kept


def test_idle_and_absolute_expiry() -> None:
    clock = ManualClock()
    sessions = store(clock)
    token, _ = sessions.open("h")
    clock.now += 59
    assert sessions.get(token) is not None  # used: the idle clock starts again
    clock.now += 59
    assert sessions.get(token) is not None
    clock.now += 61
    assert sessions.get(token) is None and len(sessions) == 0

    token, _ = sessions.open("h")
    for _ in range(11):  # used every 55 s, still ended 600 s after login
        clock.now += 55
        sessions.get(token)
    assert sessions.get(token) is None


def test_oldest_session_goes_beyond_capacity() -> None:
    sessions = store(ManualClock(), capacity=2)
    first, _ = sessions.open("a")
    second, _ = sessions.open("b")
    third, _ = sessions.open("c")
    assert sessions.get(first) is None and sessions.get(second) is not None and sessions.get(third) is not None
    assert len(sessions) == 2


def test_csrf_token_and_one_time_notice() -> None:
    _, session = store(ManualClock()).open("h")
    assert session.csrf_ok(session.csrf)
    assert not session.csrf_ok("") and not session.csrf_ok(session.csrf[:-1]) and not session.csrf_ok("é")
    session.notice, session.secret = ("ok", "done"), "mcpg_x"
    assert session.take_notice() == (("ok", "done"), "mcpg_x")
    assert session.take_notice() == (None, None)


def test_oauth_login_attempts_are_taken_once_expire_and_are_bounded() -> None:
    now = [0.0]
    attempts = Attempts(capacity=2, clock=lambda: now[0])
    first = Attempt(redirect_uri="http://127.0.0.1/ui/oauth/callback")
    token = attempts.put(first)
    assert attempts.take(token) == first
    assert attempts.take(token) is None  # once
    assert attempts.take("") is None and attempts.take("made-up") is None
    late = attempts.put(Attempt())
    now[0] += ATTEMPT_SECONDS + 1
    assert attempts.take(late) is None  # expired
    kept = [attempts.put(Attempt()) for _ in range(3)]
    assert attempts.take(kept[0]) is None and attempts.take(kept[2]) is not None  # the oldest dropped


def test_pkce_challenge_is_s256_of_the_verifier() -> None:
    attempt = Attempt()
    assert 43 <= len(attempt.verifier) <= 128  # RFC 7636 §4.1
    digest = base64.urlsafe_b64encode(hashlib.sha256(attempt.verifier.encode()).digest()).rstrip(b"=").decode()
    assert attempt.challenge == digest and attempt.state != attempt.nonce
