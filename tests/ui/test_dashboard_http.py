"""The dashboard over plain HTTP: who may use it (admin keys only, through a session), CSRF on every change,
and that its pages and actions do what the admin API does."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_guard.auth.keys import fingerprint, generate_key, hash_key
from mcp_guard.server import standalone_app
from mcp_guard.ui.audit import PAGE_SIZE as AUDIT_PAGE
from tests.integration.upstream_fixtures import wait_until
from tests.observability.world import World, rest_call, served
from tests.support.processes import ServerProcess
from tests.ui.helpers import UI, csrf_of, logged_in, login, notices

pytestmark = pytest.mark.anyio


async def test_without_a_session_pages_redirect_to_login_and_changes_are_refused() -> None:
    world = World()
    async with served(world) as (gateway, http):
        for page in ("", "/", "/servers", "/keys", "/audit", "/spend", "/tools"):
            answer = await http.get(f"{UI}{page}")
            assert answer.status_code == 303 and answer.headers["location"] == f"{UI}/login", page
        refused = await http.post(f"{UI}/keys", data={"name": "sneaky", "csrf": "x"})
        assert refused.status_code == 401 and "Log in" in refused.text
        forged = await http.get(f"{UI}/servers", headers={"cookie": "mcpg_session=made-up"})
        assert forged.status_code == 303
        assert not [k for k in await gateway.governance.keys.store.list() if k.name == "sneaky"]
        # an API key is no way in either: the dashboard knows only its own sessions
        with_key = await http.get(f"{UI}/servers", headers={"x-api-key": world.admin})
        assert with_key.status_code == 303


async def test_only_admin_keys_log_in_and_refusals_are_audited() -> None:
    world = World()
    async with served(world) as (gateway, http):
        worker = await login(http, world.worker)
        assert worker.status_code == 403 and "is not an admin key" in worker.text
        assert "mcpg_session" not in worker.headers.get("set-cookie", "")
        unknown = await login(http, generate_key())
        assert unknown.status_code == 401 and "Unknown API key" in unknown.text
        assert (await http.get(f"{UI}/servers")).status_code == 303  # still no session
        await gateway.governance.audit.flush()
        denied = await gateway.governance.audit.query(tool="ui/login", decision="denied")
        assert {r["key_name"] for r in denied} == {"worker", None}
        assert all(world.worker not in str(r) for r in denied)  # the key itself is never recorded
        assert fingerprint(world.worker) in {r["key_fingerprint"] for r in denied}
        assert {r["client"] for r in denied} == {"127.0.0.1"} and {r["entry"] for r in denied} == {"ui"}


async def test_login_form_needs_its_own_token() -> None:
    world = World()
    async with served(world) as (_gateway, http):
        answer = await http.post(f"{UI}/login", data={"key": world.admin})
        assert answer.status_code == 403 and "mcpg_session" not in answer.headers.get("set-cookie", "")
        await http.get(f"{UI}/login")  # the login cookie is set, but the form's field is missing
        answer = await http.post(f"{UI}/login", data={"key": world.admin, "csrf": "guessed"})
        assert answer.status_code == 403


async def test_session_cookie_is_opaque_httponly_strict_and_scoped() -> None:
    world = World()
    async with served(world) as (_gateway, http):
        answer = await login(http, world.admin)
        assert answer.status_code == 303
        cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("mcpg_session="))
        attributes = {part.strip().split("=")[0] for part in cookie.split(";")[1:]}
        assert {"HttpOnly", "SameSite", "Path"} <= attributes and "SameSite=Strict" in cookie
        assert f"Path={UI}" in cookie
        assert world.admin not in cookie and hash_key(world.admin) not in cookie
        assert world.admin not in answer.headers["location"]
        page = await http.get(f"{UI}/servers")
        assert page.status_code == 200 and world.admin not in page.text
        csp = page.headers["content-security-policy"]
        assert "script-src" not in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp


async def test_changes_without_the_csrf_token_are_refused() -> None:
    world = World()
    async with served(world) as (gateway, http):
        csrf = await logged_in(http, world.admin)
        missing = await http.post(f"{UI}/keys", data={"name": "bot", "roles": "worker"})
        wrong = await http.post(f"{UI}/keys", data={"name": "bot", "roles": "worker", "csrf": csrf[:-2] + "xx"})
        disable = await http.post(f"{UI}/servers/calc/disable", data={})
        assert missing.status_code == wrong.status_code == 403 and "CSRF" in missing.text
        assert disable.status_code in (403, 415)
        assert gateway.upstreams["calc"].status.state != "disabled"
        assert not [k for k in await gateway.governance.keys.store.list() if k.name == "bot"]
        await gateway.governance.audit.flush()
        refusals = await gateway.governance.audit.query(tool="ui/request", decision="denied")
        errors = sorted(r["error"] or "" for r in refusals)
        assert len(errors) == 3 and errors[0].startswith("Expected a form") and all("CSRF" in e for e in errors[1:])
        assert {r["key_name"] for r in refusals} == {"root"} and refusals[0]["arguments"]["path"].startswith(UI)
        made = await http.post(f"{UI}/keys", data={"name": "bot", "roles": "worker", "csrf": csrf})
        assert made.status_code == 303
        assert [k.name for k in await gateway.governance.keys.store.list()] == ["bot"]


async def test_created_key_is_shown_once_works_and_is_refused_once_deactivated() -> None:
    world = World()
    async with served(world) as (gateway, http):
        csrf = await logged_in(http, world.admin)
        made = await http.post(
            f"{UI}/keys",
            data={"name": "bot", "roles": "worker", "team": "red", "budget_limit": "5", "csrf": csrf},
        )
        assert made.status_code == 303
        page = (await http.get(f"{UI}/keys")).text
        secret = re.search(r'id="new-secret">([^<]+)<', page)
        assert secret is not None and "mcpg_session" not in secret.group(1)
        assert "new-secret" not in (await http.get(f"{UI}/keys")).text  # once only
        key = secret.group(1)
        assert (await rest_call(http, key, "calc__add", a=1, b=2)).status_code == 200
        assert (await http.get("/mcp/tools", headers={"x-api-key": key})).status_code == 200
        record = next(k for k in await gateway.governance.keys.store.list() if k.name == "bot")
        assert record.team == "red" and record.budget is not None and record.budget.limit == 5

        off = await http.post(f"{UI}/keys/{record.id}/deactivate", data={"csrf": csrf})
        assert off.status_code == 303
        assert any("deactivated" in text for text in notices((await http.get(f"{UI}/keys")).text))
        refused = await http.get("/mcp/tools", headers={"x-api-key": key})
        assert refused.status_code == 403 and "inactive" in refused.json()["detail"]
        bad = await http.post(f"{UI}/keys", data={"name": "x", "roles": "no-such-role", "csrf": csrf})
        assert bad.status_code == 303
        assert any("not created" in text for text in notices((await http.get(f"{UI}/keys")).text))


async def test_a_session_ends_when_its_key_stops_being_valid_and_at_logout() -> None:
    world = World()
    async with served(world) as (gateway, http):
        created = await http.post(
            "/mcp/keys", json={"name": "ops", "roles": ["admin"]}, headers={"x-api-key": world.admin}
        )
        ops = created.json()
        csrf = await logged_in(http, ops["key"])
        await http.post(f"/mcp/keys/{ops['id']}/deactivate", headers={"x-api-key": world.admin})
        assert (await http.get(f"{UI}/servers")).status_code == 303

        csrf = await logged_in(http, world.admin)
        out = await http.post(f"{UI}/logout", data={"csrf": csrf})
        assert out.status_code == 303 and out.headers["location"] == f"{UI}/login"
        assert (await http.get(f"{UI}/servers")).status_code == 303


async def test_servers_page_and_its_actions() -> None:
    world = World()
    async with served(world) as (gateway, http):
        csrf = await logged_in(http, world.admin)
        page = (await http.get(f"{UI}/servers")).text
        row = re.search(r'<tr data-server="calc">(.*?)</tr>', page, re.S)
        assert row is not None and "state-connected" in row.group(1) and "inprocess" in row.group(1)
        assert (await http.post(f"{UI}/servers/calc/disable", data={"csrf": csrf})).status_code == 303
        page = (await http.get(f"{UI}/servers")).text
        assert "Server calc is disabled." in notices(page)
        assert "state-disabled" in re.search(r'<tr data-server="calc">(.*?)</tr>', page, re.S).group(1)
        assert gateway.catalog.resolve("calc__add") is None
        assert (await http.post(f"{UI}/servers/calc/enable", data={"csrf": csrf})).status_code == 303
        assert (await http.post(f"{UI}/servers/calc/reconnect", data={"csrf": csrf})).status_code == 303
        missing = await http.post(f"{UI}/servers/nope/disable", data={"csrf": csrf})
        assert missing.status_code == 303
        assert any("No server named 'nope'" in text for text in notices((await http.get(f"{UI}/servers")).text))


async def test_audit_page_filters_shows_detail_and_verifies_the_chain() -> None:
    world = World()
    async with served(world, audit={"sink": "memory://", "redact": ["secret"]}) as (_gateway, http):
        csrf = await logged_in(http, world.admin)
        await rest_call(http, world.admin, "calc__upper", text="hello", secret="hunter2")
        await rest_call(http, world.worker, "ops__wipe", target="x")  # denied: not granted to worker
        page = (await http.get(f"{UI}/audit", params={"tool": "calc/upper"})).text
        rows = re.findall(r'<tr data-seq="\d+" data-tool="([^"]+)">', page)
        assert rows == ["calc/upper"]
        assert "hunter2" not in page and "hello" in page
        denied = (await http.get(f"{UI}/audit", params={"decision": "denied", "tool": "ops/*"})).text
        assert re.findall(r'data-tool="([^"]+)"', denied) == ["ops/wipe"]
        stranger = generate_key()
        assert (await http.get("/mcp/tools", headers={"x-api-key": stranger})).status_code == 401
        door = (await http.get(f"{UI}/audit", params={"decision": "denied"})).text
        assert f'<code title="key fingerprint">{fingerprint(stranger)}</code>' in door and "<dt>Client</dt>" in door
        bad = await http.get(f"{UI}/audit", params={"decision": "maybe"})
        assert bad.status_code == 400 and "maybe" in bad.text
        bad_time = await http.get(f"{UI}/audit", params={"since": "yesterday"})
        assert bad_time.status_code == 400 and "yesterday" in bad_time.text
        assert (await http.post(f"{UI}/audit/verify", data={"csrf": csrf})).status_code == 303
        assert any(text.startswith("Audit chain intact") for text in notices((await http.get(f"{UI}/audit")).text))


async def test_spend_page_draws_cost_and_calls_per_tool() -> None:
    world = World()
    async with served(world) as (_gateway, http):
        await logged_in(http, world.admin)
        for _ in range(2):
            assert (await rest_call(http, world.admin, "calc__add", a=1, b=2)).status_code == 200
        page = await http.get(f"{UI}/spend", params={"range": "24h", "group": "tool"})
        assert page.status_code == 200
        cost = re.search(r'<svg id="cost-chart".*?</svg>', page.text, re.S)
        assert cost is not None and 'data-series="calc/add"' in cost.group(0)
        assert re.search(r"calc/add · [^<]*: \$0\.20\b", cost.group(0)), "the hour's cost point of 2 × $0.10"
        assert re.search(r'<th scope="row">calc/add</th><td class="num">2</td>', page.text)
        refused = await http.get(f"{UI}/spend", params={"range": "forever"})
        assert refused.status_code == 400 and "forever" in refused.text


async def test_tools_page_lists_grants_limits_and_prices() -> None:
    world = World()
    async with served(world) as (_gateway, http):
        await logged_in(http, world.admin)
        page = (await http.get(f"{UI}/tools", params={"q": "calc/"})).text
        row = re.search(r'<tr data-tool="calc/upper">(.*?)</tr>', page, re.S)
        assert row is not None and "admin, worker" in row.group(1) and "2/minute per key (key worker)" in row.group(1)
        add = re.search(r'<tr data-tool="calc/add">(.*?)</tr>', page, re.S)
        assert add is not None and "$0.10" in add.group(1)
        assert 'data-tool="ops/wipe"' not in page


async def test_switched_off_dashboard_is_not_found() -> None:
    world = World()
    async with served(world, ui={"enabled": False}) as (_gateway, http):
        assert (await http.get(f"{UI}/login")).status_code == 404
        assert (await http.get("/ui/login")).status_code == 404


async def test_also_at_the_root_of_the_standalone_server() -> None:
    world = World()
    async with served(world) as (_gateway, http):
        await logged_in(http, world.admin, base="/ui")
        assert (await http.get("/ui/keys")).status_code == 200
        assert (await http.get(f"{UI}/keys")).status_code == 303  # its own cookie path: a separate session


async def test_under_the_mount_of_a_host_app() -> None:
    from fastapi import FastAPI
    from mcp_guard_fastapi import install

    from mcp_guard import Gateway
    from mcp_guard.config import parse_config
    from tests.integration.gateway_fixtures import http_client, make_tools

    world = World()
    document = world.document()
    document["teams"]["red"] = {}
    gateway = Gateway(parse_config(document), inprocess=[make_tools()])
    app = FastAPI()
    install(app, gateway)
    async with gateway.lifespan(), http_client(app) as http:
        assert (await http.get("/mcp/tools")).status_code == 401  # the mount stays governed
        assert (await http.get("/ui/login")).status_code == 404  # the app's root is the app's own
        csrf = await logged_in(http, world.admin)
        keys = await http.get(f"{UI}/keys")
        assert keys.status_code == 200 and csrf_of(keys.text) == csrf
        assert 'data-key="root"' in keys.text


async def test_hostile_input_gets_a_4xx() -> None:
    world = World()
    async with served(world) as (_gateway, http):
        csrf = await logged_in(http, world.admin)
        escaped = await http.get(f"{UI}/spend", params={"group": "<script>"})
        assert escaped.status_code == 400 and "<script>" not in escaped.text and "&lt;script&gt;" in escaped.text
        cases = [
            http.post(
                f"{UI}/keys", content=b"\xff\xfe=\xff", headers={"content-type": "application/x-www-form-urlencoded"}
            ),
            http.post(f"{UI}/keys", json={"name": "x", "csrf": csrf}),
            http.post(f"{UI}/keys", data={"csrf": csrf, "name": "x" * 70_000}),
            http.put(f"{UI}/keys", data={"csrf": csrf}),
            http.get(f"{UI}/nowhere"),
            http.get(f"{UI}/static/../../etc/passwd"),
            http.get(f"{UI}/spend", params={"group": "<script>"}),
            http.get(f"{UI}/servers", headers={"cookie": 'mcpg_session=\x7f"; ;;='}),  # last: it ends the session
        ]
        statuses = [(await case).status_code for case in cases]
        assert all(400 <= status < 500 or status == 303 for status in statuses), statuses
        assert statuses[:5] == [400, 415, 413, 405, 404]


@pytest.mark.parametrize("path", ["/mcp/ui/login", "/ui/login"])
async def test_login_page_answers_without_a_key(path: str) -> None:
    world = World()
    async with served(world) as (_gateway, http):
        page = await http.get(path)
        assert page.status_code == 200 and '<input id="key" name="key" type="password"' in page.text
        assert isinstance(page, httpx2.Response)


async def test_under_the_mount_of_a_litestar_app() -> None:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient
    from mcp_guard_litestar import MCPGuardPlugin

    from mcp_guard import Gateway
    from mcp_guard.config import parse_config

    world = World()
    document = world.document()
    document["teams"]["red"] = {}
    app = Litestar(plugins=[MCPGuardPlugin(Gateway(parse_config(document)))])
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as http:
        assert (await http.get("/mcp/tools")).status_code == 401
        page = await http.get(f"{UI}/login")
        assert page.status_code == 200 and f'href="{UI}/static/style.css"' in page.text
        form = {"key": world.admin, "csrf": csrf_of(page.text)}
        answer = await http.post(f"{UI}/login", data=form, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == f"{UI}/servers"
        servers = await http.get(f"{UI}/servers")
        assert servers.status_code == 200 and 'aria-current="page"' in servers.text
        assert f'action="{UI}/logout"' in servers.text


async def test_add_and_remove_a_runtime_server_and_see_latency(echo: ServerProcess) -> None:
    world = World()
    async with served(world) as (gateway, http):
        csrf = await logged_in(http, world.admin)
        assert (await rest_call(http, world.admin, "calc__add", a=1, b=2)).status_code == 200
        calc = re.search(r'<tr data-server="calc">(.*?)</tr>', (await http.get(f"{UI}/servers")).text, re.S)
        assert calc is not None and re.search(r"[\d.]+ / [\d.]+ ms<br><small>1 calls", calc.group(1))

        refused = await http.post(
            f"{UI}/servers", data={"name": "local", "transport": "stdio", "command": "sh", "csrf": csrf}
        )
        assert refused.status_code == 303
        assert any("cannot be added through the API" in t for t in notices((await http.get(f"{UI}/servers")).text))

        form = {"name": "echo", "transport": "http", "url": echo.url, "csrf": csrf}
        assert (await http.post(f"{UI}/servers", data=form)).status_code == 303
        await wait_until(lambda: gateway.catalog.resolve("echo__seen") is not None, 10, "echo's tools")
        page = (await http.get(f"{UI}/servers")).text
        row = re.search(r'<tr data-server="echo">(.*?)</tr>', page, re.S)
        assert row is not None and "runtime" in row.group(1) and "Remove echo" in row.group(1)
        assert 'data-tool="echo/seen"' in (await http.get(f"{UI}/tools")).text
        assert (await http.post(f"{UI}/servers", data=form)).status_code == 303  # taken: refused, said so
        assert any("exists" in t for t in notices((await http.get(f"{UI}/servers")).text))

        assert (await http.post(f"{UI}/servers/calc/remove", data={"csrf": csrf})).status_code == 303
        assert any("configuration file" in t for t in notices((await http.get(f"{UI}/servers")).text))
        assert (await http.post(f"{UI}/servers/echo/remove", data={"csrf": csrf})).status_code == 303
        assert "echo" not in gateway.upstreams and gateway.catalog.resolve("echo__seen") is None
        assert 'data-server="echo"' not in (await http.get(f"{UI}/servers")).text


async def test_set_and_clear_a_runtime_keys_budget() -> None:
    world = World()
    async with served(world) as (gateway, http):
        csrf = await logged_in(http, world.admin)
        made = await http.post(
            "/mcp/keys", json={"name": "bot", "roles": ["worker"]}, headers={"x-api-key": world.admin}
        )
        key_id = made.json()["id"]
        form = {"budget_limit": "0.15", "budget_period": "1d", "csrf": csrf}
        assert (await http.post(f"{UI}/keys/{key_id}/budget", data=form)).status_code == 303
        record = await gateway.governance.keys.store.get(key_id)
        assert (
            record is not None
            and record.budget is not None
            and (record.budget.limit, record.budget.period)
            == (
                0.15,
                "1d",
            )
        )
        assert (await rest_call(http, made.json()["key"], "calc__add", a=1, b=1)).status_code == 200  # $0.10
        assert (await rest_call(http, made.json()["key"], "calc__add", a=1, b=1)).status_code == 402  # budget
        page = (await http.get(f"{UI}/keys")).text
        assert re.search(r'<tr data-key="bot">.*?<meter [^>]*value="0.1"', page, re.S)
        bad = {"budget_limit": "-1", "csrf": csrf}
        assert (await http.post(f"{UI}/keys/{key_id}/budget", data=bad)).status_code == 303
        assert any("not changed" in t for t in notices((await http.get(f"{UI}/keys")).text))
        cleared = {"budget_limit": "", "csrf": csrf}
        assert (await http.post(f"{UI}/keys/{key_id}/budget", data=cleared)).status_code == 303
        record = await gateway.governance.keys.store.get(key_id)
        assert record is not None and record.budget is None
        file_key = await http.post(f"{UI}/keys/root/budget", data=form)
        assert file_key.status_code == 303
        assert any("configuration file" in t for t in notices((await http.get(f"{UI}/keys")).text))


async def test_audit_outcome_filter() -> None:
    world = World()
    async with served(world) as (_gateway, http):
        await logged_in(http, world.admin)
        await rest_call(http, world.admin, "calc__add", a=1, b=2)
        await rest_call(http, world.admin, "calc__refuse", reason="no")  # the tool's own error
        await rest_call(http, world.worker, "ops__wipe", target="x")  # denied
        seen = {}
        for outcome in ("ok", "tool_error", "denied"):
            page = await http.get(f"{UI}/audit", params={"outcome": outcome})
            seen[outcome] = re.findall(r'data-tool="([^"]+)"', page.text)
        assert seen["tool_error"] == ["calc/refuse"] and seen["denied"] == ["ops/wipe"]
        assert "calc/add" in seen["ok"] and "calc/refuse" not in seen["ok"]
        clash = await http.get(f"{UI}/audit", params={"outcome": "ok", "decision": "denied"})
        assert clash.status_code == 400 and "contradicts" in clash.text
        assert (await http.get(f"{UI}/audit", params={"outcome": "meh"})).status_code == 400


async def test_spend_for_chosen_days_and_refused_periods() -> None:
    world = World()
    async with served(world) as (_gateway, http):
        await logged_in(http, world.admin)
        assert (await rest_call(http, world.admin, "calc__add", a=1, b=2)).status_code == 200
        today = datetime.now(UTC).date()
        page = await http.get(f"{UI}/spend", params={"from": today.isoformat(), "group": "server"})
        assert page.status_code == 200 and f"Totals for {today} to {today}, by server" in page.text
        assert "Cost per hour by server" in page.text and 'data-series="calc"' in page.text
        week = await http.get(f"{UI}/spend", params={"from": str(today - timedelta(days=200)), "to": str(today)})
        assert week.status_code == 200 and "Cost per week by tool" in week.text
        for params, words in (
            ({"from": str(today), "to": str(today - timedelta(days=1))}, "is after"),
            ({"from": str(today - timedelta(days=400))}, "longer than 366 days"),
            ({"from": "yesterday"}, "not a date"),
        ):
            refused = await http.get(f"{UI}/spend", params=params)
            assert refused.status_code == 400 and words in unescape(refused.text), params


async def test_audit_pages_back_through_older_records() -> None:
    world = World()
    async with served(world) as (gateway, http):
        await logged_in(http, world.admin)
        for n in range(AUDIT_PAGE + 5):
            assert (await rest_call(http, world.admin, "calc__add", a=n, b=0)).status_code == 200
        first = await http.get(f"{UI}/audit", params={"tool": "calc/add"})
        seqs = [int(s) for s in re.findall(r'<tr data-seq="(\d+)"', first.text)]
        older = re.search(r'<a href="([^"]+)" rel="next">Older records', first.text)
        assert len(seqs) == AUDIT_PAGE and older is not None
        second = await http.get(unescape(older.group(1)))
        more = [int(s) for s in re.findall(r'<tr data-seq="(\d+)"', second.text)]
        assert len(more) == 5 and max(more) < min(seqs) and 'rel="next"' not in second.text
        assert 'id="f-tool" name="tool" value="calc/add"' in second.text  # the filters carry over
        bad = await http.get(f"{UI}/audit", params={"before": "-1"})
        assert bad.status_code == 400 and "is not a record&#39;s seq" in bad.text


async def test_audit_page_filters_by_virtual_server_and_shows_it() -> None:
    world = World()
    async with served(world, virtual_servers={"calc": {"servers": ["calc"]}}) as (gateway, http):
        await logged_in(http, world.admin)
        headers = {"authorization": f"Bearer {world.admin}"}
        asgi = httpx2.ASGITransport(app=standalone_app(gateway))
        async with httpx2.AsyncClient(transport=asgi, headers=headers) as mcp_http:
            transport = streamable_http_client("http://127.0.0.1/mcp/s/calc", http_client=mcp_http)
            async with Client(transport) as client:
                assert not (await client.call_tool("upper", {"text": "via calc"})).is_error
        assert (await rest_call(http, world.admin, "calc__upper", text="via rest")).status_code == 200
        page = (await http.get(f"{UI}/audit", params={"virtual_server": "calc"})).text
        assert re.findall(r'<tr data-seq="\d+" data-tool="([^"]+)">', page) == ["calc/upper"]
        assert "<dt>Virtual server</dt>" in page and "via calc" in page and "via rest" not in page
