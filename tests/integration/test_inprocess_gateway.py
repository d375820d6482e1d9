"""The router in front of in-process tools, driven by the real `mcp` client in both protocol eras and
by plain HTTP for the REST endpoints; everything in one process, no sockets."""

import json

import anyio
import pytest

from mcp_guard import GatewayConfig, ServerConfig

from .gateway_fixtures import http_client, mcp_client, running_gateway

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]


@pytest.mark.parametrize("mode", MODES)
async def test_list_and_call_in_both_eras(mode):
    async with running_gateway() as gateway, mcp_client(gateway.router, mode) as client:
        assert client.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"calc__add", "calc__upper", "calc__refuse", "calc__crash", "calc__hang"} <= names
        result = await client.call_tool("calc__add", {"a": 2, "b": 40})
        assert not result.is_error
        assert result.structured_content == {"result": 42}
        upper = await client.call_tool("calc__upper", {"text": "sync tools run in a thread"})
        assert upper.content[0].text == "SYNC TOOLS RUN IN A THREAD"


@pytest.mark.parametrize("mode", MODES)
async def test_refusals_are_error_results_with_reason(mode):
    async with running_gateway() as gateway, mcp_client(gateway.router, mode) as client:
        unknown = await client.call_tool("calc__nope", {})
        assert unknown.is_error and unknown.meta["mcp-guard/reason"] == "tool_not_found"
        assert "Unknown tool 'calc__nope'" in unknown.content[0].text

        bad = await client.call_tool("calc__add", {"a": "two", "b": 1})
        assert bad.is_error and bad.meta["mcp-guard/reason"] == "bad_request"
        assert "Invalid arguments for tool 'calc/add'" in bad.content[0].text
        assert "'two' is not of type 'integer'" in bad.content[0].text

        missing = await client.call_tool("calc__add", {"a": 1})
        assert missing.is_error and "'b' is a required property" in missing.content[0].text


async def test_tool_errors_pass_through_and_crashes_hide_details():
    async with running_gateway() as gateway, mcp_client(gateway.router) as client:
        refused = await client.call_tool("calc__refuse", {"reason": "no"})
        assert refused.is_error and refused.content[0].text == "Error executing tool refuse: refused: no"
        crashed = await client.call_tool("calc__crash", {})
        text = crashed.content[0].text
        assert crashed.is_error and "error id" in text
        assert "postgres" not in text and "Traceback" not in text


async def test_hanging_tool_times_out_and_others_are_unaffected():
    config = GatewayConfig(servers=[ServerConfig(name="calc", transport="inprocess", target="x:y", call_timeout=0.5)])
    async with running_gateway(config) as gateway, mcp_client(gateway.router) as client:
        results: dict[str, object] = {}

        async def hang() -> None:
            results["hang"] = await client.call_tool("calc__hang", {"seconds": 30})

        async def quick() -> None:
            await anyio.sleep(0.05)
            with anyio.fail_after(0.4):  # answered while the other call is still hanging
                results["quick"] = await client.call_tool("calc__add", {"a": 1, "b": 1})

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(hang)
                tg.start_soon(quick)
        assert results["quick"].structured_content == {"result": 2}
        assert results["hang"].is_error
        assert results["hang"].meta["mcp-guard/reason"] == "upstream_timeout"
        assert "did not finish within 0.5 s" in results["hang"].content[0].text


async def test_rest_listing_and_openai_format():
    async with running_gateway() as gateway, http_client(gateway.router) as http:
        listing = (await http.get("/tools")).json()["tools"]
        add = next(t for t in listing if t["ref"] == "calc/add")
        assert add["name"] == "calc__add" and add["server"] == "calc"
        assert add["inputSchema"]["required"] == ["a", "b"]
        functions = (await http.get("/tools", params={"format": "openai"})).json()
        add_fn = next(f for f in functions if f["function"]["name"] == "calc__add")
        assert add_fn == {
            "type": "function",
            "function": {"name": "calc__add", "description": "Add two integers.", "parameters": add["inputSchema"]},
        }


async def test_rest_execute_chat_and_responses_formats():
    async with running_gateway() as gateway, http_client(gateway.router) as http:
        chat = await http.post(
            "/tool/execute",
            json={"id": "call_1", "type": "function", "function": {"name": "calc__add", "arguments": '{"a":1,"b":2}'}},
        )
        assert chat.status_code == 200
        assert chat.json() == {"role": "tool", "tool_call_id": "call_1", "content": "3"}
        responses = await http.post(
            "/tool/execute",
            params={"format": "responses"},
            json={"type": "function_call", "call_id": "fc_1", "name": "calc/upper", "arguments": '{"text":"x"}'},
        )
        assert responses.json() == {"type": "function_call_output", "call_id": "fc_1", "output": "X"}
        tool_error = await http.post(
            "/tool/execute",
            json={"id": "c", "type": "function", "function": {"name": "calc__refuse", "arguments": {"reason": "r"}}},
        )
        assert tool_error.status_code == 200 and tool_error.json()["is_error"] is True


@pytest.mark.parametrize(
    ("request_kwargs", "status", "detail"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "not valid JSON"),
        ({"content": b"{}", "headers": {"content-type": "text/plain"}}, 415, "Expected Content-Type"),
        ({"json": {"id": "x"}}, 400, "function: Field required"),
        ({"json": {"id": "x", "function": {"name": "calc__add", "arguments": "{oops"}}}, 400, "not valid JSON"),
        ({"json": {"id": "x", "function": {"name": "calc__add", "arguments": "[1]"}}}, 400, "must be a JSON object"),
        ({"json": {"id": "x", "function": {"name": "calc__zzz", "arguments": "{}"}}}, 404, "Unknown tool"),
        ({"json": {"id": "x", "function": {"name": "calc__add", "arguments": '{"a":1}'}}}, 400, "required property"),
    ],
)
async def test_rest_bad_input_gets_problem_json(request_kwargs, status, detail):
    async with running_gateway() as gateway, http_client(gateway.router) as http:
        response = await http.post("/tool/execute", **request_kwargs)
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == status and detail in problem["detail"]
        assert problem["type"].startswith("urn:mcp-guard:problem:")
        # and the gateway keeps serving
        assert (await http.get("/tools")).status_code == 200


async def test_oversized_bodies_are_refused_on_rest_and_mcp():
    config = GatewayConfig(max_body_bytes=1024)
    async with running_gateway(config) as gateway, http_client(gateway.router) as http:
        big = {"id": "x", "function": {"name": "calc__upper", "arguments": json.dumps({"text": "x" * 5000})}}
        rest = await http.post("/tool/execute", json=big)
        assert rest.status_code == 413 and "limit of 1024 bytes" in rest.json()["detail"]
        mcp = await http.post(
            "/",
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "x", "arguments": {"t": "x" * 5000}},
            },
            headers={"accept": "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28"},
        )
        assert mcp.status_code == 413


async def test_malformed_json_rpc_gets_an_error_and_the_gateway_keeps_serving():
    async with running_gateway() as gateway, http_client(gateway.router) as http:
        headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
        garbage = await http.post("/", content=b"{this is not json", headers=headers)
        assert garbage.status_code == 400
        assert garbage.json()["error"]["code"] == -32700  # JSON-RPC parse error
        not_rpc = await http.post("/", json={"hello": "world"}, headers=headers)
        assert not_rpc.status_code >= 400
        async with mcp_client(gateway.router) as client:
            assert (await client.call_tool("calc__add", {"a": 1, "b": 1})).structured_content == {"result": 2}


async def test_routes_and_methods():
    async with running_gateway() as gateway, http_client(gateway.router) as http:
        assert (await http.get("/nowhere")).status_code == 404
        wrong = await http.delete("/tools")
        assert wrong.status_code == 405 and "use GET" in wrong.json()["detail"]
        servers = (await http.get("/servers")).json()["servers"]
        assert servers == [
            {**servers[0], "name": "calc", "transport": "inprocess", "state": "connected", "tool_count": 5}
        ]
        unknown = await http.post("/servers/ghost/reconnect")
        assert unknown.status_code == 404 and "calc" in unknown.json()["detail"]
        assert (await http.post("/servers/calc/reconnect")).status_code == 202


async def test_dns_rebinding_protection_is_on_by_default():
    async with running_gateway() as gateway:
        async with http_client(gateway.router, headers={"host": "evil.example"}) as http:
            response = await http.post(
                "/",
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers={"accept": "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28"},
            )
            assert response.status_code == 421
    async with running_gateway(GatewayConfig(allowed_hosts=["*"])) as gateway:
        async with mcp_client(gateway.router) as client:
            assert (await client.list_tools()).tools


async def test_mcp_endpoint_refuses_a_wrong_content_type():
    async with running_gateway() as gateway, http_client(gateway.router) as http:
        response = await http.post(
            "/",
            content=b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
            headers={"content-type": "text/plain", "accept": "application/json, text/event-stream"},
        )
        assert response.status_code == 400  # the SDK's answer: a JSON-RPC error naming the content type
        assert "content-type" in response.text.lower()
