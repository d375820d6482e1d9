"""The fast path for handshake-era sessions (`router/session_call.py`) answers exactly as the SDK would, and
leaves everything unusual to the SDK: on one open session, each request goes once through the gateway's
session manager (the fast path) and once through the SDK's own `handle_request`, and the two answers must
match byte for byte (status, every header, body). The gateway fronts the in-process calc tools and the
notes example server over streamable HTTP (a real upstream in its own process)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from mcp_guard import Gateway, GatewayConfig
from mcp_guard.router.mcp_endpoint import GatewaySessionManager
from mcp_guard.router.session_call import SessionToolCall
from tests.support.servers import notes_server

from .gateway_fixtures import make_tools
from .test_fast_call import abandoned
from .test_fast_call import answer as fast_call_answer
from .upstream_fixtures import url_config

pytestmark = pytest.mark.anyio

VERSION = "2025-11-25"
HEADERS = {
    "host": "127.0.0.1:8000",
    "accept": "application/json, text/event-stream",
    "content-type": "application/json",
}
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def user(key: str) -> AuthenticatedUser:
    """What the router puts in `scope["user"]` for a key (`KeyAuthMiddleware`): sessions are bound to it."""
    return AuthenticatedUser(AccessToken(token=key, client_id=key, scopes=[]))


def call_body(name: str, arguments: Any = None, *, request_id: Any = 7, **params: Any) -> dict[str, Any]:
    body_params: dict[str, Any] = {"name": name, **params}
    if arguments is not None:
        body_params["arguments"] = arguments
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": body_params}


class Session:
    """One handshake-era session opened on the gateway's manager, and requests on it."""

    def __init__(self, gateway: Gateway, key: str) -> None:
        manager = gateway.router.mcp._session_manager
        assert isinstance(manager, GatewaySessionManager)
        self.gateway, self.manager, self.key, self.id = gateway, manager, key, ""

    def request(
        self,
        body: Any,
        headers: dict[str, str | None] | None = None,
        extra: list[tuple[str, str]] = (),  # type: ignore[assignment]
        *,
        key: str | None = None,
    ) -> dict[str, Any]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        merged = {**HEADERS, "mcp-session-id": self.id, "mcp-protocol-version": VERSION, **(headers or {})}
        pairs = [(k.encode(), v.encode()) for k, v in merged.items() if v is not None]
        pairs += [(k.encode(), v.encode()) for k, v in extra]
        scope = {"type": "http", "method": "POST", "path": "/", "headers": pairs, "user": user(key or self.key)}
        return {"scope": scope, "body": raw}

    async def open(self, capabilities: dict[str, Any] | None = None) -> None:
        params = {
            "protocolVersion": VERSION,
            "capabilities": capabilities or {},
            "clientInfo": {"name": "t", "version": "1"},
        }
        opening = self.request({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params})
        opening["scope"]["headers"] = [(k, v) for k, v in opening["scope"]["headers"] if k.startswith(b"mcp-") is False]
        status, headers, _ = await answer(self.manager.handle_request, opening)
        assert status == 200
        self.id = dict(headers)[b"mcp-session-id"].decode()
        status, _, _ = await answer(self.manager.handle_request, self.request(NOTIFIED))
        assert status == 202

    def minted(self, reply: Answer) -> Answer:
        """`reply` with the id of a session the SDK opened for it (and closed: a POST without a session id
        that is no `initialize`) normalised: a random id, the only legitimately random part of an answer."""
        status, headers, body = reply
        own = self.id.encode()
        return status, [(k, v if k != b"mcp-session-id" or v == own else b"<minted>") for k, v in headers], body

    async def fast(self, req: dict[str, Any]) -> Answer:
        return await answer(self.manager.handle_request, req)

    async def sdk(self, req: dict[str, Any]) -> Answer:
        manager = self.manager
        return await answer(lambda s, r, se: StreamableHTTPSessionManager.handle_request(manager, s, r, se), req)


NOTIFIED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


async def answer(handle: Any, req: dict[str, Any]) -> Answer:
    with anyio.fail_after(20):
        return await fast_call_answer(handle, req, keep=None)  # every header: `mcp-session-id` too


@asynccontextmanager
async def gateway_with_notes(config: GatewayConfig | None = None) -> AsyncIterator[Gateway]:
    async with notes_server("http") as server:
        settings = (config or GatewayConfig()).model_dump()
        settings["servers"] = [url_config("notes", server.url)]
        gateway = Gateway(GatewayConfig.model_validate(settings), inprocess=[make_tools()])
        async with gateway.lifespan():
            yield gateway


@asynccontextmanager
async def session(
    config: GatewayConfig | None = None, capabilities: dict[str, Any] | None = None
) -> AsyncIterator[Session]:
    async with gateway_with_notes(config) as gateway:
        opened = Session(gateway, "alice")
        await opened.open(capabilities)
        yield opened


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per request the fast path answered itself."""
    seen: list[int] = []
    original = SessionToolCall._answer

    async def spy(self: SessionToolCall, *args: Any) -> None:
        seen.append(1)
        await original(self, *args)

    monkeypatch.setattr(SessionToolCall, "_answer", spy)
    return seen


PLAIN = [
    call_body("calc__add", {"a": 2, "b": 3}),
    call_body("calc__upper", {"text": "héllo ☃"}),
    call_body("calc__refuse", {"reason": "no"}),  # the tool's own error result
    call_body("calc__add", {"a": "x"}),  # invalid arguments: refused by the pipeline
    call_body("nope__missing", {}),  # unknown tool: a gateway refusal as an is_error result
    call_body("calc/add", {"a": 1, "b": 1}),  # the server/tool reference form
    call_body("calc__upper"),  # no arguments at all
    call_body("calc__upper", None, request_id="req-é"),  # a string id, echoed
    call_body("calc__add", {"a": 1, "b": 2}, _meta={"trace": "x"}),  # `_meta` without a progress token
    call_body("notes__echo", {"text": "é"}),  # the real upstream over HTTP
    call_body("notes__add", {"a": 1, "b": 2}),
    call_body("notes__get_image", {}),
    call_body("notes__fail", {"message": "boom"}),
    call_body("notes__add", {"a": 1.5e300, "b": 2}),  # refused by the upstream's own schema
]


@pytest.mark.parametrize("version_header", [VERSION, None])  # none: as clients before 2025-06-18 send
async def test_plain_calls_answer_like_the_sdk(taken: list[int], version_header: str | None) -> None:
    async with session() as s:
        for body in PLAIN:
            req = s.request(body, {"mcp-protocol-version": version_header})
            fast, sdk = await s.fast(req), await s.sdk(req)
            assert fast == sdk, body
            assert fast[0] == 200 and json.loads(fast[2])["id"] == body["id"]
    assert len(taken) == len(PLAIN)  # every one of them on the fast path


def unusual(s: Session) -> list[dict[str, Any]]:
    good = call_body("calc__add", {"a": 1, "b": 2})
    return [
        s.request(good, {"host": "evil.example:80"}),  # DNS rebinding: 421
        s.request(good, {"origin": "http://evil.example"}),  # 403
        s.request(good, {"content-type": "text/plain"}),  # 400
        s.request(good, {"content-type": "application/json-seq"}),  # passes one SDK check, not the other
        s.request(good, {"content-type": "text/plain, application/json"}),  # passes the other, not the one
        s.request(good, {"content-type": "Application/JSON"}),
        s.request(good, {"accept": "text/html"}),  # 406
        s.request(good, {"mcp-protocol-version": "2099-01-01"}),  # an unknown version: the SDK's refusal
        s.request(good, {"mcp-protocol-version": "2025-06-18"}),  # another handshake version than negotiated
        s.request(good, {"mcp-session-id": "not-a-session"}),  # 404
        s.request(good, {"mcp-session-id": None}),  # missing session: 400
        s.request(good, key="mallory"),  # another key's session: 404, as if it did not exist
        s.request(good, extra=[("mcp-session-id", "other")]),  # duplicated session header
        s.request(good, extra=[("mcp-protocol-version", "2099-01-01")]),  # duplicated version header
        s.request(b"{not json"),  # parse error
        s.request(b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "\\ud800"}}'),
        s.request([good]),  # a batch
        s.request({"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "calc__add"}}),  # no id: notification
        s.request({**good, "id": True}),  # a boolean id
        s.request({**good, "id": 1.5}),  # a float id
        s.request({**good, "id": None}),
        s.request({**good, "jsonrpc": "1.0"}),
        s.request({**good, "extra": 1}),  # an envelope key JSON-RPC does not have
        s.request(call_body("calc__add", [1, 2])),  # arguments not an object
        s.request(call_body("calc__add", {"a": 1}, extra_key=True)),  # a params key the surface refuses
        s.request(call_body(42, {})),  # name not a string
        s.request(call_body("calc__add", {"a": 1, "b": 2}, _meta="x")),  # `_meta` not an object
        s.request(call_body("calc__add", {"a": 1, "b": 2}, _meta={"progressToken": True})),  # invalid tokens
        s.request(call_body("calc__add", {"a": 1, "b": 2}, _meta={"progressToken": None})),
        s.request(call_body("calc__add", {"a": 1, "b": 2}, _meta={"progressToken": 1.5})),
        s.request(call_body("calc__add", {"a": 1, "b": 2}, _meta={"progressToken": {"x": 1}})),
        s.request({"jsonrpc": "2.0", "id": 3, "method": "ping"}),
        s.request({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}),
        s.request({"jsonrpc": "2.0", "id": 5, "method": "no/such"}),
        s.request({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 99}}),
        s.request({"jsonrpc": "2.0", "id": 6, "result": {}}),  # a response to nothing
    ]


async def test_unusual_requests_get_the_sdks_answer() -> None:
    async with session() as s:
        for index, req in enumerate(unusual(s)):
            fast, sdk = s.minted(await s.fast(req)), s.minted(await s.sdk(req))
            assert fast == sdk, (index, fast, sdk)


async def test_a_body_over_the_limit_gets_the_sdks_413() -> None:
    async with session(GatewayConfig(max_body_bytes=1000)) as s:
        req = s.request(call_body("calc__upper", {"text": "x" * 5000}))
        fast, sdk = await s.fast(req), await s.sdk(req)
    assert fast == sdk and fast[0] == 413


async def test_progress_tokens_and_relaying_clients_answer_like_the_sdk(taken: list[int]) -> None:
    """A call that may relay progress (a token, as the Inspector sends with every call) or questions (a
    client that declared elicitation and sampling) runs on the fast path through the SDK handler's own
    function: the same answers."""
    async with session() as s:
        for body in (
            call_body("calc__add", {"a": 1, "b": 2}, _meta={"progressToken": "p1"}),
            call_body("notes__echo", {"text": "x"}, _meta={"progressToken": 5}),
            call_body("notes__echo", {"text": "x"}, _meta={"progressToken": 6, "trace": "t"}),
        ):
            req = s.request(body)
            assert await s.fast(req) == await s.sdk(req)
    assert len(taken) == 3
    async with session(capabilities={"elicitation": {}, "sampling": {}, "roots": {"listChanged": True}}) as s:
        for body in PLAIN:
            req = s.request(body)
            assert await s.fast(req) == await s.sdk(req), body
    assert len(taken) == 3 + len(PLAIN)


RANDOM = {"id", "call_id", "time", "ts", "request_id", "duration_ms", "hash", "prev_hash", "seq"}  # vary per call


# -- governance on: the standalone app, with keys, rate limits, a budget and the audit log --------------------


async def governed_run(fast_path: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Answer], list[Any]]:
    """The same handshake-era sessions and calls through the governed standalone app, the fast path on or off:
    every answer, and the audit log."""
    from tests.observability.world import World, served

    if not fast_path:
        monkeypatch.setattr(SessionToolCall, "_plain_headers", lambda self, scope: None)
    world = World()
    answers: list[Answer] = []
    async with served(world) as (gateway, http):
        sessions = {
            name: await open_over_http(http, key)
            for name, key in (("worker", world.worker), ("spender", world.spender))
        }
        script = [
            ("worker", world.worker, call_body("calc__add", {"a": 1, "b": 2})),
            *[("worker", world.worker, call_body("calc__upper", {"text": "a"}, request_id=n)) for n in range(3)],
            ("worker", world.worker, call_body("ops__wipe", {"target": "x"})),  # not visible to the worker
            *[("spender", world.spender, call_body("calc__add", {"a": n, "b": 1}, request_id=n)) for n in range(3)],
            ("worker", world.spender, call_body("calc__add", {"a": 1, "b": 2})),  # another key's session: 404
            ("worker", None, call_body("calc__add", {"a": 1, "b": 2})),  # no key: 401
        ]
        for session_name, key, body in script:
            headers = {**HEADERS, "mcp-session-id": sessions[session_name], "mcp-protocol-version": VERSION}
            if key is not None:
                headers["authorization"] = f"Bearer {key}"
            reply = await http.post("/mcp", content=json.dumps(body), headers=headers)
            kept = [(k, v) for k, v in reply.headers.raw if k.lower() not in (b"date", b"server", b"x-request-id")]
            own = sessions[session_name].encode()
            kept = [(k, v if v != own else b"<session>") for k, v in kept]
            answers.append(timeless(reply.status_code, kept, reply.content))
        records = await gateway.governance.audit.query(limit=100)
    return answers, [timeless_record(r) for r in records]


def timeless_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record without the fields that vary per call, its rate-limit refusal's seconds normalised as `timeless`
    does the answer's (the two runs' refusals fall on either side of a second now and then)."""
    kept = {k: v for k, v in record.items() if k not in RANDOM}
    if isinstance(kept.get("error"), str):
        kept["error"] = re.sub(r"retry in \d+ s", "retry in 0 s", kept["error"])
    return kept


def timeless(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Answer:
    """A rate-limit refusal names the seconds until its window resets, which moves between two runs: those
    digits normalised (and the length checked, then recomputed)."""
    lengths = [int(v) for k, v in headers if k == b"content-length"]
    assert lengths in ([], [len(body)])
    body = re.sub(rb'retry_after":\d+', b'retry_after":0', re.sub(rb"retry in \d+ s", b"retry in 0 s", body))
    headers = [(k, v if k != b"content-length" else str(len(body)).encode()) for k, v in headers]
    return status, headers, body


async def open_over_http(http: Any, key: str) -> str:
    params = {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    headers = {**HEADERS, "authorization": f"Bearer {key}"}
    opened = await http.post(
        "/mcp", json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}, headers=headers
    )
    session_id = opened.headers["mcp-session-id"]
    headers.update({"mcp-session-id": session_id, "mcp-protocol-version": VERSION})
    assert (await http.post("/mcp", json=NOTIFIED, headers=headers)).status_code == 202
    return session_id


async def test_governed_sessions_answer_and_audit_alike(taken: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as off:
        sdk_answers, sdk_records = await governed_run(False, off)
    assert taken == []
    fast_answers, fast_records = await governed_run(True, monkeypatch)
    assert len(taken) == 8  # every call on an open session of its own key
    statuses = [status for status, _, _ in fast_answers]
    assert statuses == [200] * 8 + [404, 401]
    bodies = [json.loads(body) for _, _, body in fast_answers[:8]]
    assert bodies[3]["result"]["isError"] and bodies[7]["result"]["isError"]  # rate limit, budget
    for index, (fast, sdk) in enumerate(zip(fast_answers, sdk_answers, strict=True)):
        assert fast == sdk, (index, fast, sdk)
    assert len(fast_records) == len(sdk_records) >= 8
    assert fast_records == sdk_records


# -- cancellation ------------------------------------------------------------------------------------------------


async def cancelled_call(s: Session, path: str) -> Answer:
    """An hour-long call on `path` ("fast" or "sdk"), cancelled by the client's `notifications/cancelled`."""
    handle = s.fast if path == "fast" else s.sdk
    replies: list[Answer] = []

    async def call() -> None:
        replies.append(await handle(s.request(call_body("calc__hang", {"seconds": 3600}, request_id=41))))

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        await anyio.sleep(0.3)  # the call is running
        cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 41}}
        notified = await handle(s.request(cancel))
        assert notified[0] == 202
    return replies[0]


async def test_notifications_cancelled_stops_a_fast_call_and_answers_as_the_sdk(taken: list[int]) -> None:
    async with session() as s:
        with anyio.fail_after(10):
            sdk = await cancelled_call(s, "sdk")
            fast = await cancelled_call(s, "fast")
        assert s.manager._in_session._calls == {}
    assert taken == [1]
    assert fast == sdk
    assert json.loads(fast[2]) == {
        "jsonrpc": "2.0",
        "id": 41,
        "error": {"code": -32800, "message": "Request cancelled"},
    }


async def test_a_client_that_goes_away_cancels_its_fast_call() -> None:
    """The SDK's JSON-response mode would run the hour-long call to its end; the fast path stops it."""
    async with session() as s:
        sent = await abandoned(s.manager.handle_request, s.request(call_body("calc__hang", {"seconds": 3600})))
        assert sent == [] and s.manager._in_session._calls == {}
        transport = s.manager._server_instances[s.id]
        assert transport._requests_in_flight == 0  # the session's idle countdown runs again


async def test_a_portable_session_new_to_this_worker_is_recreated_then_fast(
    taken: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under `serve --workers`, a signed session id this worker never saw goes to the SDK path, which
    re-creates the session (`portable_sessions.py`); the session's next calls take the fast path."""
    from mcp_guard.router.portable_sessions import SESSION_SECRET_ENV, new_secret

    from .gateway_fixtures import running_gateway

    monkeypatch.setenv(SESSION_SECRET_ENV, new_secret())
    async with running_gateway() as first:
        opened = Session(first, "alice")
        await opened.open()
    async with running_gateway() as second:
        elsewhere = Session(second, "alice")
        elsewhere.id = opened.id
        replies = [await elsewhere.fast(elsewhere.request(call_body("calc__add", {"a": n, "b": 1}))) for n in (1, 2)]
        stranger = await elsewhere.fast(elsewhere.request(call_body("calc__add", {"a": 1, "b": 1}), key="mallory"))
    assert [json.loads(body)["result"]["structuredContent"] for _, _, body in replies] == [{"result": 2}, {"result": 3}]
    assert taken == [1]  # the first call re-created the session on the SDK path
    assert stranger[0] == 404  # the signed id is valid for its own key only


async def test_elicitation_and_sampling_relayed_from_the_fast_path(taken: list[int]) -> None:
    """A handshake-era client that declared elicitation and sampling, its calls on the fast path: the
    upstream's questions reach it on its session's stream and its answers go back (a real socket, the
    notes server asking over HTTP)."""
    from .test_client_requests import Answers, call, notes_behind, text_of

    async with notes_behind() as (base, alice, _bob, gateway):
        answers = Answers()
        result = await call(base, alice, "legacy", answers, "notes__confirm", {"question": "Delete it?"})
        assert not result.is_error and text_of(result) == "accept ok=True"
        result = await call(base, alice, "legacy", answers, "notes__ask_model", {"prompt": "2+2?"})
        assert not result.is_error and text_of(result) == "client-model: four"
        records = [
            r for r in await gateway.governance.audit.query() if r["tool"].startswith(("elicitation", "sampling"))
        ]
    assert answers.asked == ["Delete it?", "sampling"]
    assert len(taken) == 2
    assert sorted(r["tool"] for r in records) == ["elicitation:notes", "sampling:notes"]
