"""Records of requests refused at the door: the per-source cap (a fake clock, never `sleep`), a flood of
unknown keys through KeyAuthMiddleware into a real SQLite audit log, what a refused request is read for,
and the compatibility of the fields added for refusals with chains stored before them."""

from __future__ import annotations

import json
import logging
import sqlite3
from contextlib import closing
from typing import Any

import anyio
import pytest

import mcp_guard.audit.refusals as refusals_module
from mcp_guard import Gateway
from mcp_guard.audit.chain import GENESIS, canonical_json, link_hash, seal
from mcp_guard.audit.config import AuditSettings, RefusalSettings
from mcp_guard.audit.log import AuditLog
from mcp_guard.audit.memory_store import MemoryStore
from mcp_guard.audit.refusals import RefusalLog, named_tool
from mcp_guard.audit.source_cap import SourceCap
from mcp_guard.audit.sqlite_store import SCHEMA_VERSION, SQLiteStore
from mcp_guard.audit.verify import verify_store
from mcp_guard.auth.keys import fingerprint, generate_key
from mcp_guard.auth.principal import Principal
from mcp_guard.auth.resolver import KeyResolver
from mcp_guard.auth.store import MemoryKeyStore
from mcp_guard.config import parse_config
from mcp_guard.middleware import KeyAuthMiddleware, RateLimitMiddleware
from mcp_guard.ratelimit import RateLimiter
from mcp_guard.ratelimit.config import RateLimitSettings
from mcp_guard.ratelimit.rate import parse_rate
from mcp_guard.state import RequestState
from tests.governance.asgi_helpers import Downstream, Recorder, make_scope, no_body
from tests.governance.seed import Keys, seed_document
from tests.support.clock import ManualClock

from .helpers import make_record

pytestmark = pytest.mark.anyio


def cap(per_source: str = "3/minute", total: str = "100/minute", **kwargs: Any) -> tuple[SourceCap, ManualClock]:
    clock = ManualClock()
    return SourceCap(parse_rate(per_source), parse_rate(total), clock=clock, **kwargs), clock


def test_a_source_gets_its_burst_then_one_per_refill_carrying_what_it_lost():
    limit, clock = cap("3/minute")  # 3 at once, then one every 20 s
    assert [limit.admit("10.0.0.1") for _ in range(5)] == [0, 0, 0, None, None]
    clock.now += 19.9
    assert limit.admit("10.0.0.1") is None
    clock.now += 0.2
    assert limit.admit("10.0.0.1") == 3  # the three held back since its last record
    assert limit.admit("10.0.0.2") == 0  # another source has its own bucket
    report = limit.take_report()
    assert (report.suppressed, report.sources, report.busiest) == (3, 1, (("10.0.0.1", 3),))
    assert limit.take_report().suppressed == 0  # counting starts again


def test_the_total_caps_every_source_together():
    limit, _clock = cap("10/minute", total="4/minute")
    admitted = [limit.admit(f"10.0.0.{n}") for n in range(6)]
    assert admitted == [0, 0, 0, 0, None, None]
    assert limit.take_report().sources == 2


def test_sources_are_bounded_and_what_they_lost_is_still_reported():
    limit, _clock = cap("1/minute", max_sources=2)
    assert [limit.admit(source) for source in ("a", "a", "b", "b", "c", "c", "d")] == [0, None, 0, None, 0, None, 0]
    assert list(limit._sources) == ["c", "d"]  # the least recently seen were forgotten
    report = limit.take_report()
    assert report.suppressed == 3 and report.sources == 2 + 1  # past the bound, counted together


def test_refusal_settings_name_a_bad_rate():
    with pytest.raises(ValueError, match="not a rate limit"):
        RefusalSettings(per_source="lots")
    assert AuditSettings().refusals.per_source == "60/minute"


def key_auth(refusals: RefusalLog) -> KeyAuthMiddleware:
    resolver = KeyResolver(parse_config(seed_document(Keys())), MemoryKeyStore())
    return KeyAuthMiddleware(Downstream(), resolver=resolver, refusals=refusals)


async def knock(middleware: KeyAuthMiddleware, client: str, key: str | None = None) -> int:
    scope = make_scope("/mcp/tools", headers=[("x-api-key", key)] if key else [])
    scope["client"] = (client, 50000)
    recorder = Recorder()
    await middleware(scope, no_body, recorder)
    return recorder.status


async def test_a_flood_of_unknown_keys_from_one_source_is_capped_and_counted(tmp_path, caplog):
    clock = ManualClock()
    log = AuditLog(SQLiteStore(tmp_path / "audit.db"))
    refusals = RefusalLog(lambda: log, RefusalSettings(per_source="10/minute"), clock=clock)
    middleware = key_auth(refusals)
    async with log.running():
        flood = [await knock(middleware, "10.0.0.1", generate_key()) for _ in range(100)]  # a new key each time
        assert await knock(middleware, "10.0.0.2") == 401  # another source is not held back
        clock.now += 6.0  # one more record for the flooding source
        last_key = generate_key()
        await knock(middleware, "10.0.0.1", last_key)
        with caplog.at_level(logging.WARNING, "mcp_guard.audit.refusals"):
            refusals.report()
        await log.flush()
        records = list(reversed(await log.query(limit=1000)))
    assert set(flood) == {401}
    assert [(r["client"], r["suppressed"]) for r in records] == [("10.0.0.1", 0)] * 10 + [
        ("10.0.0.2", 0),
        ("10.0.0.1", 90),
    ]
    assert records[-1]["key_fingerprint"] == fingerprint(last_key) and records[10]["key_fingerprint"] is None
    assert {r["reason"] for r in records} == {"unauthenticated"}
    assert "90 refused requests from 1 sources were counted, not recorded" in caplog.text
    assert "10.0.0.1 (90)" in caplog.text
    assert verify_store(SQLiteStore(tmp_path / "audit.db")).ok


def test_a_reloaded_configuration_changes_the_cap_and_reports_what_the_old_one_held(caplog):
    refusals = RefusalLog(lambda: None, RefusalSettings(per_source="1/hour"), clock=ManualClock())
    assert [refusals.cap.admit("10.0.0.1") for _ in range(3)] == [0, None, None]
    with caplog.at_level(logging.WARNING, "mcp_guard.audit.refusals"):
        refusals.reconfigure(RefusalSettings(per_source="5/hour"))
    assert "2 refused requests from 1 sources" in caplog.text
    assert [refusals.cap.admit("10.0.0.1") for _ in range(6)] == [0] * 5 + [None]


async def test_a_refused_websocket_handshake_is_recorded():
    log = AuditLog(MemoryStore())
    middleware = key_auth(RefusalLog(lambda: log))
    scope = {**make_scope("/mcp/events"), "type": "websocket", "client": ("10.0.0.3", 1)}
    del scope["method"]
    recorder = Recorder()
    async with log.running():
        await middleware(scope, no_body, recorder)
        await log.flush()
        (record,) = await log.query()
    assert recorder.messages[0]["type"] == "websocket.close" and recorder.messages[0]["code"] == 1008
    assert (record["reason"], record["arguments"], record["client"]) == (
        "unauthenticated",
        {"method": "WEBSOCKET", "path": "/mcp/events"},
        "10.0.0.3",
    )


async def test_without_an_audit_log_in_use_nothing_is_recorded_or_opened(tmp_path):
    """A host app with KeyAuthMiddleware but no AuditMiddleware: refusals are not recorded, as calls are not,
    and no audit store is created for them."""
    gateway = Gateway(parse_config(seed_document(Keys(), audit={"sink": f"sqlite:///{tmp_path / 'audit.db'}"})))
    middleware = KeyAuthMiddleware(Downstream(), gateway=gateway)
    assert middleware.refusals is gateway.governance.refusals
    async with gateway.lifespan():
        assert await knock(middleware, "10.0.0.1", generate_key()) == 401
    assert gateway.governance.audit_in_use() is None and not (tmp_path / "audit.db").exists()


async def test_a_request_refused_because_the_limit_storage_is_down_is_recorded_as_failed(tmp_path):
    """503 at the door (`requests_per_key` in an unreachable Redis, `fail_open: false`): one record, decision
    `allowed` and outcome `failed` as for a tool call refused that way, not capped (the key is known)."""
    settings = RateLimitSettings(storage="redis://127.0.0.1:1", requests_per_key="5/minute", fail_open=False)
    limiter = RateLimiter(settings)
    log = AuditLog(MemoryStore())
    middleware = RateLimitMiddleware(
        Downstream(), limiter=limiter, refusals=RefusalLog(lambda: log, RefusalSettings(per_source="1/hour"))
    )
    statuses = []
    async with log.running():
        for _ in range(3):
            scope = make_scope("/mcp/tools")
            RequestState.from_scope(scope).principal = Principal("key_1", "bot", roles=("worker",))
            recorder = Recorder()
            await middleware(scope, no_body, recorder)
            statuses.append(recorder.status)
        await log.flush()
        records = await log.query()
    await limiter.aclose()
    assert statuses == [503] * 3
    assert {(r["key_id"], r["decision"], r["outcome"], r["reason"], r["entry"]) for r in records} == {
        ("key_1", "allowed", "failed", "service_unavailable", "request")
    }
    assert len(records) == 3


async def test_a_refusal_is_answered_even_when_it_cannot_be_recorded(caplog):
    class Broken:
        async def record(self, record: Any) -> None:
            raise RuntimeError("disk on fire")

    middleware = key_auth(RefusalLog(lambda: Broken()))
    assert await knock(middleware, "10.0.0.1", generate_key()) == 401
    assert "Could not record the refusal of '/mcp/tools' (unauthenticated)" in caplog.text
    assert "disk on fire" in caplog.text


def body_receive(body: bytes) -> Any:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def post(headers: list[tuple[str, str]] = ()) -> dict[str, Any]:
    return make_scope("/mcp", method="POST", headers=list(headers))


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"calc__add","arguments":{}}}', "calc__add"),
        (b'{"id":"1","type":"function","function":{"name":"calc/add","arguments":"{}"}}', "calc/add"),
        (b'{"type":"function_call","call_id":"c","name":"calc-add","arguments":"{}"}', "calc-add"),
        (b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}', None),
        (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]}', None),
        (b'{"function":{"name":"\\ud800"}}', None),  # a lone surrogate: not valid input, nothing named
        (b"not json", None),
        (b"[]", None),
    ],
)
async def test_the_tool_a_refused_body_names(body, named):
    assert await named_tool(post(), body_receive(body)) == named


async def test_the_modern_headers_name_the_tool_without_reading_the_body():
    async def never(*_: Any) -> Any:
        raise AssertionError("the body was read")

    scope = post([("mcp-method", "tools/call"), ("mcp-name", "calc__add")])
    assert await named_tool(scope, never) == "calc__add"


async def test_a_large_or_slow_body_is_not_waited_for(monkeypatch):
    async def never(*_: Any) -> Any:
        raise AssertionError("the body was read")

    too_large = post([("content-length", str(refusals_module.BODY_LIMIT + 1))])
    assert await named_tool(too_large, never) is None

    async def trickle() -> dict[str, Any]:
        await anyio.sleep(0.01)
        return {"type": "http.request", "body": b" ", "more_body": True}

    monkeypatch.setattr(refusals_module, "BODY_WAIT", 0.2)
    with anyio.fail_after(10):  # bounded by BODY_WAIT, not by the client
        assert await named_tool(post(), trickle) is None


async def test_a_long_name_is_shortened_and_escaped():
    named = await named_tool(post(), body_receive(b'{"function":{"name":"' + b"x" * 2000 + b'"}}'))
    assert named == "x" * 512


def test_records_without_the_added_fields_hash_as_before():
    """A record hashed before `client`, `key_fingerprint` and `suppressed` existed still verifies."""
    record = make_record(1)
    assert "client" not in canonical_json(record, 1) and "suppressed" not in canonical_json(record, 1)
    refused = make_record(2, client="10.0.0.1", key_fingerprint="abcd1234", suppressed=4)
    text = canonical_json(refused, 2)
    assert '"client":"10.0.0.1"' in text and '"key_fingerprint":"abcd1234"' in text and '"suppressed":4' in text
    assert link_hash("0" * 64, refused, 2) != link_hash("0" * 64, make_record(2), 2)


V1_SCHEMA = """
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, time REAL NOT NULL,
    request_id TEXT NOT NULL, call_id TEXT NOT NULL, server TEXT NOT NULL, tool TEXT NOT NULL,
    decision TEXT NOT NULL, outcome TEXT NOT NULL, parent_id TEXT, key_id TEXT, key_name TEXT, user TEXT,
    roles TEXT NOT NULL, team TEXT, customer TEXT, arguments TEXT NOT NULL, reason TEXT, error TEXT,
    cost REAL NOT NULL, duration_ms REAL NOT NULL, mode TEXT NOT NULL, entry TEXT NOT NULL
);
CREATE TABLE audit_anchor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
PRAGMA user_version = 1;
"""


def test_a_schema_1_sqlite_file_is_migrated_and_its_chain_still_verifies(tmp_path):
    path = tmp_path / "old.db"
    old = seal(GENESIS, [make_record(n) for n in (1, 2)])
    with closing(sqlite3.connect(path)) as db:
        db.executescript(V1_SCHEMA)
        for row in old:
            data = row.as_dict()
            columns = [
                name for name in data if name not in ("client", "key_fingerprint", "suppressed", "virtual_server")
            ]
            values = [json.dumps(data[c]) if c in ("roles", "arguments") else data[c] for c in columns]
            db.execute(f"INSERT INTO audit_log ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", values)
        db.commit()
    store = SQLiteStore(path)
    assert list(store.iter_chain()) == old
    store.append_batch(seal(old[-1].link, [make_record(3, client="10.0.0.1", key_fingerprint="abcd1234")]))
    assert verify_store(store).ok and verify_store(store).checked == 3
    assert [row.record.client for row in store.iter_chain()] == [None, None, "10.0.0.1"]
    store.close()
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
