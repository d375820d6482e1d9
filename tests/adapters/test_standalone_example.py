"""`examples/gateway.yaml` served by `mcp-guard serve`: the seed policy over the example stdio servers,
driven with plain HTTP and the `mcp` SDK client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mcp_guard.auth.keys import generate_key
from tests.integration.upstream_fixtures import keyed_client

from .launch import REPO_ROOT, Served, assert_problem, audit_records, create_key, example_env, standalone_gateway

pytestmark = pytest.mark.anyio

NOTES_TOOLS = {"notes__add_note", "notes__list_notes", "notes__search_notes", "notes__delete_note"}
PAGED_TOOLS = {f"paged__t{i:04d}" for i in range(1, 13)}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    key = generate_key()
    env = example_env(tmp_path_factory.mktemp("standalone"), key)
    with standalone_gateway(REPO_ROOT / "examples" / "gateway.yaml", env=env) as server:
        yield Served(server, key)


async def test_only_the_index_answers_without_a_key(gateway: Served) -> None:
    async with gateway.http() as anonymous:
        index = await anonymous.get("/")
        assert index.status_code == 200 and index.json()["mcp"] == "/mcp"
        for response in (await anonymous.get("/mcp/tools"), await anonymous.get("/elsewhere")):
            assert_problem(response, 401, "unauthenticated")


async def test_the_catalog_follows_the_seed_roles_and_the_filter_headers(gateway: Served) -> None:
    async with keyed_client(gateway.mcp_url, gateway.admin_key) as client:
        assert {tool.name for tool in (await client.list_tools()).tools} == NOTES_TOOLS | PAGED_TOOLS
    marketing = await create_key(gateway, "marketing-bot", ["marketing"], team="marketing")
    async with keyed_client(gateway.mcp_url, marketing, mode="legacy") as client:
        assert {tool.name for tool in (await client.list_tools()).tools} == {"notes__list_notes", "notes__search_notes"}
    async with gateway.http(gateway.admin_key, **{"x-mcp-include-tools": "paged/*"}) as client:
        listed = (await client.get("/mcp/tools", params={"format": "openai"})).json()
    assert {tool["function"]["name"] for tool in listed} == PAGED_TOOLS


async def test_calls_reach_the_stdio_servers_and_are_audited(gateway: Served) -> None:
    engineering = await create_key(gateway, "eng-bot", ["engineering"], team="engineering")
    async with keyed_client(gateway.mcp_url, engineering, headers={"x-mcp-user": "erin"}) as client:
        added = await client.call_tool("notes__add_note", {"title": "gateway", "body": "works"})
        assert not added.is_error, added.content
    [record] = await audit_records(gateway, tool="notes/add_note")
    assert (record["key_name"], record["user"], record["team"], record["decision"]) == (
        "eng-bot", "erin", "engineering", "allowed",
    )  # fmt: skip
    assert record["cost"] == pytest.approx(0.002)  # pricing: notes server default
