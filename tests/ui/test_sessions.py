"""Dashboard sessions: opaque ids, idle and absolute expiry, a bounded number, CSRF tokens compared safely."""

from __future__ import annotations

from mcp_guard.ui.sessions import SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def store(clock: Clock, capacity: int = 10) -> SessionStore:
    return SessionStore(idle=60, lifetime=600, capacity=capacity, clock=clock)


def test_a_session_is_found_by_its_id_only_and_keeps_the_hash_not_the_key() -> None:
    sessions = store(Clock())
    token, session = sessions.open("hash-of-key")
    assert sessions.get(token) is session and session.key_hash == "hash-of-key"
    assert sessions.get(token + "x") is None and sessions.get("") is None
    assert token not in repr(sessions.__dict__)  # only its digest is kept


def test_idle_and_absolute_expiry() -> None:
    clock = Clock()
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
    sessions = store(Clock(), capacity=2)
    first, _ = sessions.open("a")
    second, _ = sessions.open("b")
    third, _ = sessions.open("c")
    assert sessions.get(first) is None and sessions.get(second) is not None and sessions.get(third) is not None
    assert len(sessions) == 2


def test_csrf_token_and_one_time_notice() -> None:
    _, session = store(Clock()).open("h")
    assert session.csrf_ok(session.csrf)
    assert not session.csrf_ok("") and not session.csrf_ok(session.csrf[:-1]) and not session.csrf_ok("é")
    session.notice, session.secret = ("ok", "done"), "mcpg_x"
    assert session.take_notice() == (("ok", "done"), "mcpg_x")
    assert session.take_notice() == (None, None)
