"""Every refusal leaves exactly one audit record with the reason the response gave, through a running
standalone gateway (REST, Bifrost's path, an MCP SDK client), with the audit log in SQLite or PostgreSQL and
the rate limits in Redis; the chain still verifies."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from mcp_guard import Gateway
from mcp_guard.auth.keys import fingerprint, generate_key, hash_key
from mcp_guard.config import parse_config
from mcp_guard.errors import Unauthenticated
from mcp_guard.routes import principal_of
from mcp_guard.server import standalone_app
from tests.audit.helpers import POSTGRES_URL, drop_backend, open_backend, postgres_schema
from tests.integration.gateway_fixtures import http_client, make_tools
from tests.observability.world import World, admin_tools, rest_call
from tests.support.processes import port_is_open

pytestmark = pytest.mark.anyio

REDIS = "redis://127.0.0.1:6379"
MODERN = "2026-07-28"
REQUESTS_PER_KEY = 6  # per minute: only `chatty` gets near it
LISTINGS = REQUESTS_PER_KEY


class Keys(World):
    """The observability world's keys (admin, worker, spender), plus an inactive, an expired and a chatty one."""

    def __init__(self) -> None:
        super().__init__()
        self.retired, self.expired, self.chatty = generate_key(), generate_key(), generate_key()

    def document(self, **extra: Any) -> dict[str, Any]:
        document = super().document(**extra)
        document["keys"] += [
            {"name": "retired", "hash": hash_key(self.retired), "roles": ["worker"], "team": "red", "active": False},
            {"name": "expired", "hash": hash_key(self.expired), "roles": ["worker"], "expires_at": "2020-01-01T00:00Z"},
            {"name": "chatty", "hash": hash_key(self.chatty), "roles": ["worker"], "team": "red"},
        ]
        document["teams"]["red"] = {}
        return document


@pytest.fixture(params=["sqlite", "postgres"])
def sink(request, tmp_path) -> Any:
    if request.param == "postgres":
        open_backend("postgres", tmp_path).close()  # skips without a server
        yield f"{POSTGRES_URL}?schema={postgres_schema(tmp_path)}"
        drop_backend("postgres", tmp_path)
    else:
        yield f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.fixture
def redis() -> str:
    if not port_is_open(6379):
        pytest.skip("needs Redis at 127.0.0.1:6379")
    return REDIS


@asynccontextmanager
async def served(keys: Keys, sink: str, redis: str, **audit: Any) -> AsyncIterator[tuple[Gateway, httpx2.AsyncClient]]:
    rate_limits = {
        "storage": redis,
        "namespace": f"refusals-{uuid.uuid4().hex[:8]}",  # counters of this test only
        "requests_per_key": f"{REQUESTS_PER_KEY}/minute",
        "rules": [{"key": "worker", "tools": "calc/upper", "limit": "2/minute"}],
    }
    document = keys.document(audit={"sink": sink, **audit}, rate_limits=rate_limits)
    gateway = Gateway(parse_config(document), inprocess=[make_tools(), admin_tools()])
    async with gateway.lifespan(), http_client(standalone_app(gateway)) as http:
        yield gateway, http


async def stored(gateway: Gateway) -> list[dict[str, Any]]:
    """Every record, oldest first, once the writer has written what was queued."""
    audit = gateway.governance.audit
    await audit.flush()
    return list(reversed(await audit.query(limit=1000)))


def shape(record: dict[str, Any]) -> tuple[Any, ...]:
    return (record["key_name"], record["decision"], record["reason"], record["entry"], record["server"], record["tool"])


async def test_every_refusal_leaves_one_record_with_its_reason(sink, redis):
    keys = Keys()
    unknown = generate_key()
    async with served(keys, sink, redis) as (gateway, http):
        statuses = [
            (await rest_call(http, unknown, "calc__add", a=1, b=2)).status_code,  # unknown key
            (await rest_call(http, None, "calc__upper", text="x")).status_code,  # no key
            (await rest_call(http, keys.retired, "calc/add", a=1, b=2)).status_code,  # inactive key
            (await http.get("/mcp/tools", headers=_bearer(keys.expired))).status_code,  # expired key
            (await rest_call(http, keys.worker, "ops__wipe", target="x")).status_code,  # tool not allowed
            *[(await rest_call(http, keys.spender, "calc__add", a=1, b=n)).status_code for n in range(3)],  # budget
            *[(await rest_call(http, keys.worker, "calc__upper", text="y")).status_code for _ in range(3)],  # per call
            (await rest_call(http, keys.admin, "ops__wipe", target="x")).status_code,  # needs confirmation
            *[(await http.get("/mcp/tools", headers=_bearer(keys.chatty))).status_code for _ in range(LISTINGS)],
            (await rest_call(http, keys.chatty, "calc__add", a=1, b=2)).status_code,  # requests_per_key
        ]
        records = await stored(gateway)
        report = await gateway.governance.audit.verify()

    assert statuses == [401, 401, 403, 403, 403, 200, 200, 402, 200, 200, 429, 409, *[200] * REQUESTS_PER_KEY, 429]
    assert [shape(r) for r in records] == [
        (None, "denied", "unauthenticated", "request", "", "calc__add"),
        (None, "denied", "unauthenticated", "request", "", "calc__upper"),
        ("retired", "denied", "not_allowed", "request", "calc", "add"),
        ("expired", "denied", "not_allowed", "request", "", ""),
        ("worker", "denied", "not_allowed", "rest", "ops", "wipe"),
        ("spender", "allowed", None, "rest", "calc", "add"),
        ("spender", "allowed", None, "rest", "calc", "add"),
        ("spender", "denied", "budget_exceeded", "rest", "calc", "add"),
        ("worker", "allowed", None, "rest", "calc", "upper"),
        ("worker", "allowed", None, "rest", "calc", "upper"),
        ("worker", "denied", "rate_limited", "rest", "calc", "upper"),
        ("root", "denied", "confirmation_required", "rest", "ops", "wipe"),
        ("chatty", "denied", "rate_limited", "request", "", "calc__add"),
    ]
    unknown_record, missing, inactive = records[:3]
    assert unknown_record["key_fingerprint"] == fingerprint(unknown) == hash_key(unknown)[7:15]
    assert unknown not in str(records)  # the key itself is never written
    assert missing["key_fingerprint"] is None and missing["error"].startswith("An API key is required")
    assert inactive["key_id"] == "retired" and inactive["key_fingerprint"] == fingerprint(keys.retired)
    assert inactive["error"] == "Key 'retired' is inactive"
    assert records[3]["error"].startswith("Key 'expired' expired at 2020-01-01")
    assert records[3]["arguments"] == {"method": "GET", "path": "/mcp/tools"}
    for record in (unknown_record, missing, inactive, records[-1]):
        assert record["client"] == "127.0.0.1" and record["suppressed"] == 0
        assert record["arguments"] == {"method": "POST", "path": "/mcp/tool/execute"}
    assert "Key 'chatty' limit exceeded" in records[-1]["error"] and records[-1]["key_id"] == "chatty"
    assert report.ok and report.checked == len(records)


async def test_bifrost_path_and_a_malformed_filter_are_recorded(sink, redis):
    keys = Keys()
    unknown = generate_key()
    call = {"id": "1", "type": "function", "function": {"name": "calc-add", "arguments": "{}"}}
    async with served(keys, sink, redis) as (gateway, http):
        bifrost = await http.post("/v1/mcp/tool/execute", json=call, headers={"x-bf-vk": unknown})
        filtered = await http.get("/mcp/tools", headers={**_bearer(keys.worker), "x-mcp-include-tools": "a," * 5000})
        records = await stored(gateway)
    assert (bifrost.status_code, filtered.status_code) == (401, 400)
    bifrost_record, filter_record = records
    assert shape(bifrost_record) == (None, "denied", "unauthenticated", "request", "", "calc-add")
    assert bifrost_record["arguments"]["path"] == "/v1/mcp/tool/execute"
    assert bifrost_record["key_fingerprint"] == fingerprint(unknown)
    assert shape(filter_record)[1:4] == ("denied", filtered.json()["type"].rsplit(":", 1)[1], "request")
    assert filter_record["key_name"] == "worker"


async def test_an_admin_route_and_a_governed_app_route_record_their_refusals(sink, redis):
    keys = Keys()
    unknown = generate_key()
    app_request = {"type": "http", "method": "GET", "path": "/reports", "headers": [(b"x-api-key", unknown.encode())]}
    async with served(keys, sink, redis) as (gateway, http):
        not_admin = await http.get("/mcp/audit", headers=_bearer(keys.worker))
        with pytest.raises(Unauthenticated):  # what the adapters' dependency or guard answers with 401
            await principal_of(gateway, {**app_request, "client": ("10.1.1.1", 40000)})
        records = await stored(gateway)
    assert not_admin.status_code == 403
    admin_record, app_record = records
    assert shape(admin_record) == ("worker", "denied", "not_allowed", "request", "", "")
    assert admin_record["arguments"] == {"method": "GET", "path": "/mcp/audit"}
    assert shape(app_record) == (None, "denied", "unauthenticated", "request", "", "")
    assert (app_record["client"], app_record["arguments"]["path"]) == ("10.1.1.1", "/reports")
    assert app_record["key_fingerprint"] == fingerprint(unknown)


async def test_an_mcp_client_with_an_unknown_key_is_recorded(sink, redis):
    unknown = generate_key()
    async with served(Keys(), sink, redis) as (gateway, http):
        async with _mcp(http, unknown, MODERN) as session:
            with pytest.raises(MCPError):
                await session.call_tool("calc__add", {"a": 1, "b": 2})
        records = await stored(gateway)
    assert [shape(r) for r in records] == [(None, "denied", "unauthenticated", "request", "", "calc__add")]
    assert records[0]["key_fingerprint"] == fingerprint(unknown) and records[0]["arguments"]["path"] == "/mcp"


async def test_tool_call_refusals_over_mcp_keep_one_record_each(sink, redis):
    keys = Keys()
    async with served(keys, sink, redis) as (gateway, http):
        async with _mcp(http, keys.worker, MODERN) as worker, _mcp(http, keys.spender, MODERN) as spender:
            results = [
                await worker.call_tool("ops__wipe", {"target": "x"}),  # not allowed
                *[await spender.call_tool("calc__add", {"a": 1, "b": n}) for n in range(3)],  # budget
                *[await worker.call_tool("calc__upper", {"text": "y"}) for _ in range(3)],  # per-call limit
            ]
        async with _mcp(http, keys.admin, MODERN) as admin:
            results.append(await admin.call_tool("ops__wipe", {"target": "x"}))  # needs confirmation
        records = await stored(gateway)
    reasons = [(result.meta or {}).get("mcp-guard/reason") for result in results]
    assert reasons == [
        "not_allowed",
        None,
        None,
        "budget_exceeded",
        None,
        None,
        "rate_limited",
        "confirmation_required",
    ]
    assert [(r["key_name"], r["reason"], r["entry"]) for r in records] == [
        ("worker", "not_allowed", "mcp"),
        ("spender", None, "mcp"),
        ("spender", None, "mcp"),
        ("spender", "budget_exceeded", "mcp"),
        ("worker", None, "mcp"),
        ("worker", None, "mcp"),
        ("worker", "rate_limited", "mcp"),
        ("root", "confirmation_required", "mcp"),
    ]


@pytest.mark.parametrize("mode", [MODERN, "legacy"])
async def test_an_mcp_client_over_its_request_limit_is_recorded(sink, redis, mode):
    """The tool is named by the `Mcp-Name` header (modern) or read from the small JSON-RPC body (legacy)."""
    async with served(keys := Keys(), sink, redis) as (gateway, http):
        answers: list[str] = []
        async with _mcp(http, keys.chatty, mode) as session:
            await session.list_tools()  # what the SDK would do before the first call
            for _ in range(REQUESTS_PER_KEY + 1):
                try:
                    result = await session.call_tool("calc__add", {"a": 1, "b": 2})
                    answers.append("error" if result.is_error else "ok")
                except MCPError:  # the HTTP 429 of the request, as the SDK reports it
                    answers.append("refused")
        records = await stored(gateway)
        report = await gateway.governance.audit.verify()
    refused = [r for r in records if r["entry"] == "request"]
    refused_calls = [r for r in refused if r["tool"]]  # the other: the legacy session's DELETE
    assert answers[-1] == "refused" and answers.count("refused") == len(refused_calls)
    assert answers.count("ok") == len([r for r in records if r["entry"] == "mcp"])
    assert {shape(r) for r in refused_calls} == {("chatty", "denied", "rate_limited", "request", "", "calc__add")}
    assert {(r["reason"], r["tool"]) for r in refused} <= {("rate_limited", "calc__add"), ("rate_limited", "")}
    assert report.ok


async def test_a_flood_of_unknown_keys_is_capped_and_nothing_goes_unaccounted(sink, redis, caplog):
    """Every refused attempt is either a record or counted in the log line the gateway writes when it stops
    (and in the `suppressed` of the source's next record, if one came)."""
    attempts = 30
    with caplog.at_level(logging.WARNING, "mcp_guard.audit.refusals"):
        async with served(Keys(), sink, redis, refusals={"per_source": "5/minute"}) as (gateway, http):
            statuses = {(await rest_call(http, generate_key(), "calc__add")).status_code for _ in range(attempts)}
            records = await stored(gateway)
            report = await gateway.governance.audit.verify()
    counted = re.search(r"(\d+) refused requests from 1 sources were counted", caplog.text)
    assert statuses == {401} and counted is not None and report.ok
    assert 5 <= len(records) < attempts  # a record every 12 s after the first five: a slow machine may add one
    assert len(records) + int(counted[1]) == attempts
    assert sum(r["suppressed"] for r in records) <= int(counted[1])


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@asynccontextmanager
async def _mcp(http: httpx2.AsyncClient, key: str, mode: str) -> AsyncIterator[Client]:
    """An MCP SDK client on the same app as `http`, with `key`."""
    transport = httpx2.ASGITransport(app=http._transport.app)  # type: ignore[attr-defined]
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers={"x-api-key": key}) as raw:
        async with Client(streamable_http_client("http://127.0.0.1/mcp", http_client=raw), mode=mode) as client:
            yield client
