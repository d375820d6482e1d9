"""Signed handshake-era session ids (`router/portable_sessions.py`): what a worker that does not hold a
session reads from its id, and what it refuses. The re-creation itself runs against real workers in
tests/scaleout/test_workers.py."""

from __future__ import annotations

import json

import pytest

from mcp_guard.router.portable_sessions import SessionIds, _opening, _peek_body

OPENING = {"v": "2025-06-18", "c": {"elicitation": {"form": {}}, "sampling": {}}, "i": {"name": "c", "version": "1"}}


def test_an_id_gives_back_what_the_session_was_opened_with_for_its_own_key_only():
    ids = SessionIds("secret")
    session = ids.mint("key-a", OPENING)
    assert session is not None
    assert ids.read(session, "key-a") == OPENING
    assert ids.read(session, "key-b") is None  # another key cannot revive it
    assert SessionIds("other secret").read(session, "key-a") is None  # another deployment's secret


def _flip_last(text: str) -> str:
    """`text` with its last character changed (to "0", or "1" when it is "0" already)."""
    return text[:-1] + ("1" if text.endswith("0") else "0")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s[:-2] + ("AA" if not s.endswith("AA") else "BB"),  # the MAC
        lambda s: _flip_last(s.split(".")[0]) + "." + ".".join(s.split(".")[1:]),  # the nonce
        lambda s: s.replace(".", "..", 1),  # the shape
        lambda s: "0" * 32,  # a plain SDK id
    ],
)
def test_a_changed_or_foreign_id_is_not_read(tamper):
    ids = SessionIds("secret")
    session = ids.mint("key-a", OPENING)
    assert session is not None
    changed = tamper(session)
    assert changed != session
    assert ids.read(changed, "key-a") is None


def test_capabilities_too_large_for_a_header_are_not_put_in_an_id():
    assert SessionIds("secret").mint("k", {**OPENING, "c": {"experimental": {"x": "y" * 4000}}}) is None


def test_only_an_initialize_request_opens():
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18"}}
    assert _opening(json.dumps(initialize).encode()) == {"v": "2025-06-18", "c": {}, "i": None}
    assert _opening(b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}') is None
    assert _opening(b"not json") is None
    assert _opening(b'[{"method": "initialize"}]') is None


@pytest.mark.anyio
async def test_a_peeked_body_reaches_the_app_unchanged_even_past_the_limit():
    chunks = [{"type": "http.request", "body": b"abc", "more_body": True}, {"type": "http.request", "body": b"def"}]
    pending = list(chunks)

    async def receive():
        return pending.pop(0)

    body, replay = await _peek_body(receive, limit=2)  # stops reading after the first chunk
    assert body == b"abc"
    first, second = await replay(), await replay()
    assert (first["body"], first["more_body"], second["body"]) == (b"abc", True, b"def")
