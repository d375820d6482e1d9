"""Virtual servers (`<mount>/s/<name>`) through the standalone app, every middleware on, with the SDK client in
both eras: a single-upstream endpoint shows the upstream's own names and works with them; a bundle shows
only its chosen tools; a key's own rights still decide (a virtual server never grants); sessions stay on
their endpoint; an unknown virtual server is a 404 naming the configured ones."""

from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pytest
import yaml
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, authorization_context
from mcp.server.auth.provider import AccessToken

from mcp_guard import Gateway
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config
from mcp_guard.errors import ConfigError
from mcp_guard.router import ROUTES
from mcp_guard.router.virtual import endpoint_user
from mcp_guard.server import standalone_app
from mcp_guard.virtual import RESERVED_NAMES
from tests.integration.gateway_fixtures import make_tools
from tests.integration.test_resource_subscriptions import subscribe
from tests.integration.test_resources_governance import notes_server
from tests.servers.test_servers_api import on_a_socket
from tests.support.servers import notes_server as notes_server_process

pytestmark = pytest.mark.anyio
ERAS = ["auto", "legacy"]
NOTES_TOOLS = {"add_note", "list_notes", "search_notes", "delete_note", "echo", "add", "get_image", "get_audio"}
VIRTUAL = {
    "notes": {"servers": ["notes"]},
    "bundle": {"servers": ["notes", "calc"], "tools": ["notes/add_note", "calc/add"], "prompts": []},
}


class Keys:
    def __init__(self) -> None:
        self.admin, self.calc_only = generate_key(), generate_key()

    def document(self, virtual: Any = None) -> dict[str, Any]:
        return {
            "roles": {
                "admin": {"tools": ["*"], "resources": ["*"], "prompts": ["*"], "admin": True},
                "calculator": {"tools": ["calc/*"]},
            },
            "keys": [
                {"name": "root", "hash": hash_key(self.admin), "roles": ["admin"]},
                {"name": "calc-bot", "hash": hash_key(self.calc_only), "roles": ["calculator"]},
            ],
            "virtual_servers": VIRTUAL if virtual is None else virtual,
            "auth": {"store": "memory://"},
            "audit": {"sink": "memory://", "synchronous": True},
        }


@asynccontextmanager
async def governed(keys: Keys):
    gateway = Gateway(parse_config(keys.document()), inprocess=[notes_server(), make_tools()])
    async with gateway.lifespan():
        yield standalone_app(gateway)


def http(app: Any, key: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), headers={"authorization": f"Bearer {key}"}, base_url="http://127.0.0.1"
    )


@asynccontextmanager
async def session(app: Any, key: str, path: str, mode: str = "auto"):
    async with http(app, key) as client:
        async with Client(streamable_http_client(f"http://127.0.0.1{path}", http_client=client), mode=mode) as mcp:
            yield mcp


@pytest.mark.parametrize("mode", ERAS)
async def test_a_single_upstream_endpoint_keeps_the_upstreams_own_names(mode):
    keys = Keys()
    async with governed(keys) as app, session(app, keys.admin, "/mcp/s/notes", mode) as notes:
        names = {tool.name for tool in (await notes.list_tools()).tools}
        assert names >= NOTES_TOOLS and not any("__" in name for name in names), names
        added = await notes.call_tool("add_note", {"title": "plan", "body": "ship it"})
        assert not added.is_error, added
        assert [r.uri for r in (await notes.list_resources()).resources] == ["notes://examples/readme"]
        templates = (await notes.list_resource_templates()).resource_templates
        assert [(t.uri_template, t.name) for t in templates] == [("notes://notes/{id}", "note")]
        read = await notes.read_resource("notes://notes/1")
        assert [(c.uri, c.text) for c in read.contents] == [("notes://notes/1", "plan: ship it")]
        assert [p.name for p in (await notes.list_prompts()).prompts] == ["summarize"]
        prompt = await notes.get_prompt("summarize", {"topic": "plans"})
        assert "plans" in str(prompt.messages[0].content)
        completion = await notes.complete(types.PromptReference(name="summarize"), {"name": "style", "value": "b"})
        assert completion.completion.values, completion
        assert (await notes.call_tool("notes__add_note", {"title": "x", "body": "y"})).is_error  # no gateway names


@pytest.mark.parametrize("mode", ERAS)
async def test_a_bundle_shows_only_its_chosen_tools(mode):
    keys = Keys()
    async with governed(keys) as app, session(app, keys.admin, "/mcp/s/bundle", mode) as bundle:
        assert sorted(tool.name for tool in (await bundle.list_tools()).tools) == ["calc__add", "notes__add_note"]
        assert (await bundle.call_tool("calc__add", {"a": 2, "b": 3})).structured_content == {"result": 5}
        refused = await bundle.call_tool("calc__upper", {"text": "x"})
        assert refused.is_error
        assert "is not part of virtual server 'bundle'" in refused.content[0].text
        assert (await bundle.list_prompts()).prompts == []
        with pytest.raises(MCPError, match="not part of virtual server 'bundle'"):
            await bundle.get_prompt("notes__summarize", {"topic": "x"})
        assert [r.uri for r in (await bundle.list_resources()).resources] == [
            "mcp-guard://notes/notes://examples/readme"
        ]
    async with governed(keys) as app, session(app, keys.admin, "/mcp", mode) as root:
        assert len((await root.list_tools()).tools) > 2  # the root endpoint is not narrowed


@pytest.mark.parametrize("mode", ERAS)
async def test_a_virtual_server_never_grants(mode):
    keys = Keys()
    async with governed(keys) as app:
        async with session(app, keys.calc_only, "/mcp/s/notes", mode) as notes:
            assert (await notes.list_tools()).tools == []
            refused = await notes.call_tool("add_note", {"title": "x", "body": "y"})
            assert refused.is_error
            assert "not allowed for key 'calc-bot'" in refused.content[0].text
            with pytest.raises(MCPError, match="not allowed for key 'calc-bot'"):
                await notes.read_resource("notes://examples/readme")
        async with http(app, keys.admin) as admin:
            records = (await admin.get("/mcp/audit", params={"key": "calc-bot"})).json()["records"]
        assert {(r["tool"], r["decision"]) for r in records} >= {("add_note", "denied")}


async def test_an_unknown_virtual_server_is_a_404_naming_the_configured_ones():
    keys = Keys()
    async with governed(keys) as app, http(app, keys.admin) as client:
        answer = await client.post("/mcp/s/nope", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert answer.status_code == 404
        assert "No virtual server 'nope'; the virtual servers are: bundle, notes" in answer.json()["detail"]
        for path in ("/mcp/s/", "/mcp/s/notes/extra", "/mcp/s/" + "x" * 5000, "/mcp/s/%00"):
            answer = await client.post(path, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
            assert answer.status_code == 404, (path, answer.text)
            assert "the virtual servers are: bundle, notes" in answer.json()["detail"]


async def test_a_reload_changes_the_virtual_servers(tmp_path):
    keys = Keys()
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(keys.document()))
    gateway = Gateway.from_yaml(path, inprocess=[notes_server(), make_tools()])
    async with gateway.lifespan():
        app = standalone_app(gateway)
        async with session(app, keys.admin, "/mcp/s/bundle") as bundle:
            assert sorted(tool.name for tool in (await bundle.list_tools()).tools) == ["calc__add", "notes__add_note"]
            path.write_text(yaml.safe_dump(keys.document({"bundle": {"servers": ["calc"], "tools": ["calc/upper"]}})))
            assert "virtual_servers" in (await gateway.reload())["applied"]
            assert [tool.name for tool in (await bundle.list_tools()).tools] == ["upper"]  # now one upstream
        async with http(app, keys.admin) as client:
            answer = await client.post("/mcp/s/notes", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
            assert answer.status_code == 404 and "the virtual servers are: bundle" in answer.json()["detail"]
            path.write_text(yaml.safe_dump(keys.document({"x": {"servers": ["gone"]}})))
            with pytest.raises(ConfigError, match="not configured servers: \\['gone'\\]"):
                await gateway.reload()


async def test_bifrost_short_path_serves_a_virtual_server_and_routes_keep_theirs():
    keys = Keys()
    async with governed(keys) as app:
        async with session(app, keys.admin, "/mcp/notes") as notes:
            assert {tool.name for tool in (await notes.list_tools()).tools} >= NOTES_TOOLS
        async with http(app, keys.admin) as client:
            assert (await client.get("/mcp/tools")).status_code == 200  # a route, never a virtual server


async def test_a_session_stays_on_its_endpoint_and_key():
    keys = Keys()
    async with governed(keys) as app, http(app, keys.admin) as client:
        opened = await client.post("/mcp/s/notes", json=_initialize(), headers=_ACCEPT)
        assert opened.status_code == 200, opened.text
        session_id = opened.headers["mcp-session-id"]
        listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
        headers = {**_ACCEPT, "mcp-session-id": session_id, "mcp-protocol-version": "2025-11-25"}
        assert (await client.post("/mcp/s/notes", json=listing, headers=headers)).status_code == 200
        for elsewhere in ("/mcp", "/mcp/s/bundle"):
            assert (await client.post(elsewhere, json=listing, headers=headers)).status_code == 404
        async with http(app, keys.calc_only) as other:
            assert (await other.post("/mcp/s/notes", json=listing, headers=headers)).status_code == 404


_ACCEPT = {"accept": "application/json, text/event-stream"}


def _initialize() -> dict[str, Any]:
    params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    return {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}


def test_no_virtual_server_can_shadow_a_route():
    first_segments = {endpoint.path.strip("/").split("/")[0] for endpoint in ROUTES}
    assert first_segments <= RESERVED_NAMES
    with pytest.raises(ConfigError, match="'tools' is taken by the gateway's own routes"):
        parse_config(Keys().document({"tools": {"servers": ["notes"]}}) | {"servers": {"notes": _NOTES}})
    with pytest.raises(ConfigError, match=r"virtual_servers.x.servers: not configured servers: \['nope'\]"):
        Gateway(parse_config(Keys().document({"x": {"servers": ["nope", "calc"]}})), inprocess=[make_tools()])


_NOTES = {"transport": "stdio", "command": "true"}


def test_a_virtual_servers_session_identity_keeps_the_callers():
    def user(subject: str | None, issuer: str = "https://idp") -> AuthenticatedUser:
        token = AccessToken(token="t", client_id="app", scopes=[], subject=subject, claims={"iss": issuer})
        return AuthenticatedUser(token)

    def identity(user: object, name: str) -> object:
        return authorization_context(endpoint_user(user, name))

    assert identity(user("alice"), "notes") != identity(user("bob"), "notes")  # one OAuth client, two people
    assert identity(user("alice"), "notes") != identity(user("alice"), "desk")
    assert identity(user("alice"), "notes") != identity(user("alice", "https://other"), "notes")
    assert identity(user("alice"), "notes") == identity(user("alice"), "notes")
    assert identity(None, "notes") != identity(None, "desk")


async def test_a_handshake_era_subscriber_hears_of_updates_under_the_upstreams_uri():
    keys = Keys()
    async with notes_server_process("http") as notes:
        document = keys.document({"notes": {"servers": ["notes"]}}) | {
            "servers": {"notes": {"transport": "http", "url": notes.url}}
        }
        gateway = Gateway(parse_config(document))
        async with gateway.lifespan(), on_a_socket(standalone_app(gateway)) as base:
            heard: list[str] = []
            told = anyio.Event()

            async def on_message(message: object) -> None:
                if isinstance(message, types.ResourceUpdatedNotification):
                    heard.append(message.params.uri)
                    told.set()

            with anyio.fail_after(30):
                async with httpx2.AsyncClient(headers={"authorization": f"Bearer {keys.admin}"}, timeout=60) as http:
                    url = f"{base}/mcp/s/notes"
                    transport = streamable_http_client(url, http_client=http)
                    async with Client(transport, mode="legacy", message_handler=on_message) as client:
                        await subscribe(client, "notes://examples/readme")
                        await client.call_tool("touch_resource", {"uri": "notes://examples/readme"})
                        await told.wait()
            assert heard == ["notes://examples/readme"]


@pytest.mark.parametrize("mode", ERAS)
async def test_calls_through_a_virtual_server_name_it_in_their_audit_records(mode):
    """The record of a call (and of a refusal) through `/mcp/s/<name>` names the endpoint; `GET /mcp/audit`
    and the records of `/mcp` tell them apart."""
    keys = Keys()
    async with governed(keys) as app:
        async with session(app, keys.admin, "/mcp/s/notes", mode) as notes:
            await notes.call_tool("echo", {"text": "via notes"})
            await notes.read_resource("notes://examples/readme")
        async with session(app, keys.admin, "/mcp/s/bundle", mode) as bundle:
            refused = await bundle.call_tool("notes__echo", {"text": "not in the bundle"})
            assert refused.is_error
        async with session(app, keys.admin, "/mcp/", mode) as root:
            await root.call_tool("notes__echo", {"text": "via the root"})
        async with http(app, keys.admin) as client:
            answer = await client.get("/mcp/audit", params={"virtual_server": "notes"})
            assert answer.status_code == 200, answer.text
            through_notes = answer.json()["records"]
            everything = (await client.get("/mcp/audit")).json()["records"]
    assert [(r["server"], r["tool"], r["outcome"]) for r in through_notes] == [
        ("notes", "resource:notes://examples/readme", "ok"),
        ("notes", "echo", "ok"),
    ]
    assert {(r["tool"], r["virtual_server"]) for r in everything if r["server"] == "notes"} == {
        ("resource:notes://examples/readme", "notes"),
        ("echo", "notes"),
        ("echo", "bundle"),  # refused: not part of that bundle
        ("echo", None),
    }


async def test_a_2026_listen_stream_names_resources_as_the_upstream_does():
    """On a single-upstream endpoint, a `subscriptions/listen` stream takes the upstream's URIs, and its
    acknowledgment and update events show them, as every other answer of that endpoint does."""
    keys = Keys()
    readme = "notes://examples/readme"
    async with notes_server_process("http") as notes:
        document = keys.document({"notes": {"servers": ["notes"]}}) | {
            "servers": {"notes": {"transport": "http", "url": notes.url}}
        }
        gateway = Gateway(parse_config(document))
        async with gateway.lifespan(), on_a_socket(standalone_app(gateway)) as base:
            with anyio.fail_after(30):
                async with httpx2.AsyncClient(headers={"authorization": f"Bearer {keys.admin}"}, timeout=60) as http:
                    transport = streamable_http_client(f"{base}/mcp/s/notes", http_client=http)
                    async with Client(transport) as client, client.listen(resource_subscriptions=[readme]) as stream:
                        assert stream.honored is not None and stream.honored.resource_subscriptions == [readme]
                        await client.call_tool("touch_resource", {"uri": readme})
                        async for event in stream:
                            assert type(event).__name__ == "ResourceUpdated" and event.uri == readme
                            break
        records = await gateway.governance.audit.query(tool="notes/*")
    held = [r for r in records if r["tool"].startswith("subscription:")]
    assert [(r["tool"], r["outcome"], r["virtual_server"]) for r in held] == [
        (f"subscription:resource:{readme}", "ok", "notes")
    ]
