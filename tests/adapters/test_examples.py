"""The three framework examples, each started with uvicorn and driven like a user would: plain HTTP on
the host app's own routes, and the `mcp` SDK client on `/mcp`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mcp_guard.auth.keys import generate_key
from tests.integration.upstream_fixtures import keyed_client

from .launch import Served, assert_problem, audit_records, create_key, example_env, uvicorn_app

pytestmark = pytest.mark.anyio

ORDERS_TOOLS = {"orders__order_status", "orders__cancel_order"}
NOTES_TOOLS = {"notes__add_note", "notes__list_notes", "notes__search_notes", "notes__delete_note"}
PAGED_TOOLS = {f"paged__t{i:04d}" for i in range(1, 13)}  # 12 tools, listed upstream 5 a page


@pytest.fixture(scope="module", params=["fastapi", "litestar", "starlette"])
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    key = generate_key()
    env = example_env(tmp_path_factory.mktemp(request.param), key)
    with uvicorn_app(f"examples.{request.param}_app:app", env=env) as server:
        yield Served(server, key)


async def test_the_host_apps_own_routes_still_work(shop: Served) -> None:
    async with shop.http() as anonymous:
        assert (await anonymous.get("/health")).json() == {"status": "ok"}  # exempt: no key needed
    async with shop.http(shop.admin_key) as client:
        orders = await client.get("/orders")
        assert orders.status_code == 200
        assert orders.json()["caller"] == "admin"
        assert {o["id"] for o in orders.json()["orders"]} == {"A-1001", "A-1002", "B-2001"}
        cancelled = await client.post("/orders/B-2001/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


async def test_requests_without_a_key_get_401_problem_json(shop: Served) -> None:
    async with shop.http() as anonymous:
        for response in (
            await anonymous.get("/orders"),  # opted in
            await anonymous.get("/mcp/tools"),
            await anonymous.get("/mcp/no/such/route"),  # under the mount: before routing, tells nothing
            await anonymous.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        ):
            assert_problem(response, 401, "unauthenticated")
            assert response.headers["www-authenticate"].startswith("Bearer")
        unknown = await anonymous.get("/no/such/route")  # the app's own 404, as the framework writes it
        assert unknown.status_code == 404 and unknown.headers["content-type"] != "application/problem+json"
    async with shop.http("mcpg_not-a-real-key") as stranger:
        assert_problem(await stranger.get("/orders"), 401, "unauthenticated")


async def test_header_filters_narrow_the_mcp_catalog(shop: Served) -> None:
    async with keyed_client(shop.mcp_url, shop.admin_key, mode="legacy") as client:
        everything = {tool.name for tool in (await client.list_tools()).tools}
    assert ORDERS_TOOLS | NOTES_TOOLS | PAGED_TOOLS == everything  # every upstream page, nothing hidden shown
    narrowed = {"x-mcp-include-clients": "orders", "x-mcp-exclude-tools": "orders/cancel_order"}
    async with keyed_client(shop.mcp_url, shop.admin_key, mode="auto", headers=narrowed) as client:
        assert [tool.name for tool in (await client.list_tools()).tools] == ["orders__order_status"]
        refused = await client.call_tool("orders__cancel_order", {"order_id": "A-1001"})
    assert refused.is_error and refused.meta["mcp-guard/reason"] == "filtered"


async def test_the_route_guard_applies_the_tool_rules(shop: Served) -> None:
    marketing = await create_key(shop, "marketing-bot", ["marketing"], team="marketing")
    async with shop.http(marketing) as client:
        assert (await client.get("/orders")).status_code == 200  # any valid key may read
        denied = assert_problem(await client.post("/orders/A-1001/cancel"), 403, "not_allowed")
    assert denied["detail"] == "Tool 'orders/cancel_order' is not allowed for key 'marketing-bot' (roles: marketing)"
    async with shop.http(shop.admin_key, **{"x-mcp-include-tools": "orders/order_status"}) as narrowed:
        assert_problem(await narrowed.post("/orders/A-1001/cancel"), 403, "filtered")


async def test_tool_calls_are_audited_allowed_or_denied(shop: Served) -> None:
    async with keyed_client(shop.mcp_url, shop.admin_key, headers={"x-mcp-user": "maria"}) as client:
        result = await client.call_tool("orders__order_status", {"order_id": "A-1002"})
    assert not result.is_error
    assert result.structured_content == {"id": "A-1002", "customer": "acme", "total": 35.5, "status": "shipped"}
    [record] = await audit_records(shop, tool="orders/order_status")
    assert (record["decision"], record["outcome"], record["key_name"], record["user"]) == (
        "allowed", "ok", "admin", "maria",
    )  # fmt: skip
    assert record["arguments"] == {"order_id": "A-1002"} and record["cost"] == pytest.approx(0.005)

    finance = await create_key(shop, "finance-bot", ["finance"], team="finance")
    async with keyed_client(shop.mcp_url, finance) as client:
        refused = await client.call_tool("notes__add_note", {"title": "t", "body": "b"})
    assert refused.is_error and refused.meta["mcp-guard/reason"] == "not_allowed"
    [denied] = await audit_records(shop, tool="notes/add_note", decision="denied")
    assert (denied["key_name"], denied["reason"]) == ("finance-bot", "not_allowed")
