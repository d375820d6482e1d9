"""Resources, resource templates, prompts and completions through the gateway's MCP endpoint, feature by
feature directly and through the gateway, with a 2026-07-28 client and a handshake-era one: npm
server-everything (a handshake-era upstream over stdio) and the notes example server (2026-07-28 over
streamable HTTP, and the handshake era over stdio)."""

import base64
import json
import re

import mcp_types as types
import pytest
from mcp import Client, MCPError

from mcp_guard import __version__
from mcp_guard.names import gateway_uri, resource_ref
from mcp_guard.router import aggregate
from tests.support.servers import everything_stdio_params, notes_server, notes_stdio_params

from .gateway_fixtures import http_client, mcp_client
from .upstream_fixtures import gateway_for, stdio_config, url_config

pytestmark = pytest.mark.anyio
ERAS = ["auto", "legacy"]  # auto: 2026-07-28 with the gateway; legacy: the initialize handshake
README = "notes://examples/readme"


def upstream_form(item, server: str, uri_field: str | None = "uri"):
    """A listed item as its upstream lists it: the gateway URI and `server__` name mapped back."""
    fields = item.model_dump()
    assert fields["name"].startswith(f"{server}__")
    fields["name"] = fields["name"][len(server) + 2 :]
    if uri_field is not None:
        ref = resource_ref(fields[uri_field])
        assert ref is not None and ref.server == server, fields[uri_field]
        fields[uri_field] = ref.uri
    return fields


def without_times(text: str) -> str:
    """server-everything stamps dynamic resources with the time they were made."""
    return re.sub(r"\d{1,2}:\d{2}:\d{2}\s?[AP]M", "<time>", text)


def contents_form(contents, server: str | None = None):
    """Resource contents for comparison: gateway URIs mapped back, timestamps blanked."""
    shown = []
    for item in contents:
        fields = item.model_dump()
        if server is not None:
            ref = resource_ref(fields["uri"])
            assert ref is not None and ref.server == server
            fields["uri"] = ref.uri
        if "text" in fields:
            fields["text"] = without_times(fields["text"])
        shown.append(fields)
    return shown


def messages_form(messages, server: str | None = None):
    forms = []
    for message in messages:
        content = message.content.model_dump()
        if isinstance(message.content, types.EmbeddedResource):
            content["resource"] = contents_form([message.content.resource], server)[0]
        forms.append((message.role, content))
    return forms


@pytest.mark.node
@pytest.mark.parametrize("mode", ERAS)
async def test_server_everything_directly_and_through_the_gateway(mode):
    params = everything_stdio_params()
    async with Client(params) as direct, gateway_for(stdio_config("everything", params)) as gateway:
        async with mcp_client(gateway.router, mode) as client:
            resources = (await client.list_resources()).resources
            upstream = (await direct.list_resources()).resources
            assert [upstream_form(r, "everything") for r in resources] == [r.model_dump() for r in upstream]
            for shown, original in zip(resources, upstream, strict=True):
                read = await client.read_resource(shown.uri)
                assert contents_form(read.contents, "everything") == contents_form(
                    (await direct.read_resource(original.uri)).contents
                )

            templates = (await client.list_resource_templates()).resource_templates
            direct_templates = (await direct.list_resource_templates()).resource_templates
            assert [upstream_form(t, "everything", "uri_template") for t in templates] == [
                t.model_dump() for t in direct_templates
            ]
            text_template = next(t.uri_template for t in templates if "text" in t.uri_template)
            expanded = await client.read_resource(text_template.replace("{resourceId}", "3"))
            assert contents_form(expanded.contents, "everything") == contents_form(
                (await direct.read_resource("demo://resource/dynamic/text/3")).contents
            )

            prompts = (await client.list_prompts()).prompts
            assert [upstream_form(p, "everything", None) for p in prompts] == [
                p.model_dump() for p in (await direct.list_prompts()).prompts
            ]
            for name, arguments in [
                ("simple-prompt", None),
                ("args-prompt", {"city": "Lyon", "state": "Rhône"}),
                ("resource-prompt", {"resourceType": "Text", "resourceId": "2"}),
            ]:
                through = await client.get_prompt(f"everything__{name}", arguments)
                assert messages_form(through.messages, "everything") == messages_form(
                    (await direct.get_prompt(name, arguments)).messages
                )
            embedded = (
                (await client.get_prompt("everything__resource-prompt", {"resourceType": "Text", "resourceId": "2"}))
                .messages[1]
                .content
            )
            assert embedded.resource.uri == gateway_uri("everything", "demo://resource/dynamic/text/2")
            assert (await client.read_resource(embedded.resource.uri)).contents  # what a prompt embeds can be read back

            for value, context in [("E", None), ("", {"department": "Engineering"})]:
                argument = {"name": "department" if context is None else "name", "value": value}
                through = await client.complete(
                    types.PromptReference(name="everything__completable-prompt"), argument, context
                )
                straight = await direct.complete(types.PromptReference(name="completable-prompt"), argument, context)
                assert through.completion.values == straight.completion.values and straight.completion.values


@pytest.mark.parametrize("mode", ERAS)
async def test_a_2026_upstream_directly_and_through_the_gateway(mode):
    async with notes_server("http") as server:
        async with gateway_for(url_config("notes", server.url)) as gateway, Client(server.url) as direct:
            assert gateway.upstreams["notes"].status.protocol_version == "2026-07-28"
            async with mcp_client(gateway.router, mode) as client:
                await direct.call_tool("add_note", {"title": "groceries", "body": "milk"})  # note 1, both see it
                resources = (await client.list_resources()).resources
                assert [upstream_form(r, "notes") for r in resources] == [
                    r.model_dump() for r in (await direct.list_resources()).resources
                ]
                template = (await client.list_resource_templates()).resource_templates[0]
                assert template.uri_template == gateway_uri("notes", "notes://notes/{id}")
                note = await client.read_resource(template.uri_template.replace("{id}", "1"))
                stamp = (note.meta or {}).get("io.modelcontextprotocol/serverInfo")
                assert stamp == ({"name": "mcp-guard", "version": __version__} if mode == "auto" else None)
                assert contents_form(note.contents, "notes") == contents_form(
                    (await direct.read_resource("notes://notes/1")).contents
                )
                got = await client.get_prompt("notes__summarize", {"topic": "food", "style": "detailed"})
                assert messages_form(got.messages) == messages_form(
                    (await direct.get_prompt("summarize", {"topic": "food", "style": "detailed"})).messages
                )
                style = await client.complete(
                    types.PromptReference(name="notes__summarize"), {"name": "style", "value": "b"}
                )
                assert style.completion.values == ["brief", "bullet points"]
                ids = await client.complete(
                    types.ResourceTemplateReference(uri=template.uri_template), {"name": "id", "value": ""}
                )
                assert ids.completion.values == ["1"]


async def test_the_same_uri_on_two_servers_never_clashes():
    """Two upstreams with the same resource URIs and prompt names: each is listed, read and got from its own."""
    async with notes_server("http") as server:
        legacy_copy = stdio_config("copy", notes_stdio_params(), protocol="legacy")
        async with (
            gateway_for(url_config("notes", server.url), legacy_copy) as gateway,
            mcp_client(gateway.router) as client,
        ):
            await client.call_tool("notes__add_note", {"title": "only on notes", "body": "here"})
            uris = [r.uri for r in (await client.list_resources()).resources]
            assert uris == [gateway_uri("copy", README), gateway_uri("notes", README)]
            assert {p.name for p in (await client.list_prompts()).prompts} == {"copy__summarize", "notes__summarize"}
            mine = await client.read_resource(gateway_uri("notes", "notes://notes/1"))
            assert mine.contents[0].text == "only on notes: here"
            with pytest.raises(MCPError) as other:
                await client.read_resource(gateway_uri("copy", "notes://notes/1"))  # the copy has no note 1
            assert "'copy'" in other.value.error.message


@pytest.mark.parametrize("mode", ERAS)
async def test_listings_page_across_upstreams_and_refuse_bad_cursors(mode, monkeypatch):
    monkeypatch.setattr(aggregate, "PAGE_ITEMS", 1)  # one upstream page per gateway page
    async with notes_server("http") as server:
        upstreams = [url_config(name, server.url) for name in ("a", "b", "c")]
        async with gateway_for(*upstreams) as gateway, mcp_client(gateway.router, mode) as client:
            seen, cursor, pages = [], None, 0
            while True:
                page = await client.list_resources(cursor=cursor)
                seen += [r.uri for r in page.resources]
                pages += 1
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert pages == 3 and seen == [gateway_uri(s, README) for s in ("a", "b", "c")]

            not_ours = base64.urlsafe_b64encode(json.dumps(["nowhere", None]).encode()).decode()
            for bad in ("garbage", not_ours, "x" * 5000):
                for listing in (client.list_resources, client.list_resource_templates, client.list_prompts):
                    with pytest.raises(MCPError) as refused:
                        await listing(cursor=bad)
                    assert refused.value.error.code == -32602 and "cursor" in refused.value.error.message


@pytest.mark.parametrize("mode", ERAS)
async def test_unknown_names_and_uris_are_invalid_params(mode):
    async with notes_server("http") as server:
        async with gateway_for(url_config("notes", server.url)) as gateway, mcp_client(gateway.router, mode) as client:
            for read in (README, "mcp-guard://nowhere/notes://examples/readme", "mcp-guard://notes"):
                with pytest.raises(MCPError) as refused:
                    await client.read_resource(read)
                assert refused.value.error.code == -32602
            for name in ("summarize", "nowhere__summarize"):
                with pytest.raises(MCPError) as refused:
                    await client.get_prompt(name)
                assert refused.value.error.code == -32602 and "Unknown prompt" in refused.value.error.message


def refusal(error: MCPError, status: int) -> str:
    """The message of a refusal that is the caller's mistake: -32602, the HTTP-like status in `data`."""
    assert error.error.code == -32602, error.error
    assert error.error.data["status"] == status, error.error.data
    return error.error.message


@pytest.mark.parametrize("mode", ERAS)
async def test_an_unknown_item_of_a_known_server_is_the_callers_mistake(mode):
    """The SDK's MCPServer answers an unknown prompt or a missing argument with -32603; the gateway
    tells the caller what it asked wrong instead of blaming the upstream."""
    async with notes_server("http") as server:
        async with gateway_for(url_config("notes", server.url)) as gateway, mcp_client(gateway.router, mode) as client:
            with pytest.raises(MCPError) as refused:
                await client.get_prompt("notes__nope")
            assert "Unknown prompt 'notes__nope'" in refusal(refused.value, 404)
            with pytest.raises(MCPError) as refused:
                await client.get_prompt("notes__summarize", {"style": "long"})
            assert "requires argument(s) topic" in refusal(refused.value, 400)
            with pytest.raises(MCPError) as refused:
                await client.read_resource(gateway_uri("notes", "notes://nope"))
            assert "'mcp-guard://notes/notes://nope'" in refusal(refused.value, 400)
            got = await client.get_prompt("notes__summarize", {"topic": "x"})  # the upstream still serves
            assert got.messages[0].content.text.startswith("Summarize my notes about x")


@pytest.mark.node
async def test_server_everything_refusals_name_the_item():
    """server-everything answers -32602 for an unknown prompt, resource or template: still the
    caller's mistake, named as the caller named it."""
    params = everything_stdio_params()
    async with gateway_for(stdio_config("everything", params)) as gateway, mcp_client(gateway.router) as client:
        with pytest.raises(MCPError) as refused:
            await client.get_prompt("everything__nope")
        assert "'everything__nope'" in refusal(refused.value, 400)
        with pytest.raises(MCPError) as refused:
            await client.read_resource(gateway_uri("everything", "demo://resource/nope"))
        assert "'mcp-guard://everything/demo://resource/nope'" in refusal(refused.value, 400)
        with pytest.raises(MCPError) as refused:
            await client.complete(types.PromptReference(name="everything__nope"), {"name": "x", "value": ""})
        assert "'everything__nope'" in refusal(refused.value, 400)


async def test_ping_in_the_handshake_era():
    async with gateway_for() as gateway, mcp_client(gateway.router, "legacy") as client:
        assert isinstance(await client.send_ping(), types.EmptyResult)


async def test_listings_are_private_to_the_caller_on_the_wire():
    """Every listing is filtered per key: a 2026-07-28 answer says so (`cacheScope: private`), so no shared
    cache serves one key's list to another."""
    from .test_fast_call import HEADERS, META

    async with notes_server("http") as server, gateway_for(url_config("notes", server.url)) as gateway:
        async with http_client(gateway.router) as http:
            for method in ("tools/list", "resources/list", "resources/templates/list", "prompts/list"):
                body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {"_meta": META}}
                answer = await http.post("/", json=body, headers={**HEADERS, "mcp-method": method})
                assert answer.status_code == 200, answer.text
                assert answer.json()["result"]["cacheScope"] == "private", method


async def test_rest_gives_what_the_mcp_endpoint_gives_for_server_everything():
    """`GET /resources`, `/resources/templates`, `/prompts`, `/resources/read`, `POST /prompts/get`
    (router/rest_items.py) answer MCP's results as JSON, the same as the MCP endpoint's."""
    params = everything_stdio_params()
    async with gateway_for(stdio_config("everything", params)) as gateway:
        async with mcp_client(gateway.router) as client, http_client(gateway.router) as http:
            listed = (await http.get("/resources")).json()
            shown = (await client.list_resources()).resources
            assert listed["resources"] == [r.model_dump(by_alias=True, exclude_none=True, mode="json") for r in shown]
            kinds = set()
            templates = (await client.list_resource_templates()).resource_templates
            blob = next(t.uri_template for t in templates if "blob" in t.uri_template).replace("{resourceId}", "2")
            for uri in [r.uri for r in shown] + [blob]:
                read = (await http.get("/resources/read", params={"uri": uri})).json()["contents"]
                over_mcp = (await client.read_resource(uri)).contents
                assert [without_times(json.dumps(c, sort_keys=True)) for c in read] == [
                    without_times(
                        json.dumps(c.model_dump(by_alias=True, exclude_none=True, mode="json"), sort_keys=True)
                    )
                    for c in over_mcp
                ]
                kinds |= {"blob" if "blob" in c else "text" for c in read}
            assert kinds == {"blob", "text"}
            listed_templates = (await http.get("/resources/templates")).json()["resourceTemplates"]
            assert [t["uriTemplate"] for t in listed_templates] == [t.uri_template for t in templates]
            names = [p["name"] for p in (await http.get("/prompts")).json()["prompts"]]
            assert names == [p.name for p in (await client.list_prompts()).prompts]
            arguments = {"city": "Lyon", "state": "Rhône"}
            got = await http.post("/prompts/get", json={"name": "everything__args-prompt", "arguments": arguments})
            assert got.status_code == 200, got.text
            through_mcp = await client.get_prompt("everything__args-prompt", arguments)
            assert got.json()["messages"] == [
                m.model_dump(by_alias=True, exclude_none=True, mode="json") for m in through_mcp.messages
            ]


async def test_rest_listings_page_across_upstreams(monkeypatch):
    monkeypatch.setattr(aggregate, "PAGE_ITEMS", 1)  # one upstream page per gateway page
    async with notes_server("http") as server:
        upstreams = [url_config(name, server.url) for name in ("a", "b", "c")]
        async with gateway_for(*upstreams) as gateway, http_client(gateway.router) as http:
            for path, key, field, expected in [
                ("/resources", "resources", "uri", [gateway_uri(s, README) for s in "abc"]),
                ("/prompts", "prompts", "name", [f"{s}__summarize" for s in "abc"]),
            ]:
                seen, cursor = [], None
                while True:
                    page = (await http.get(path, params={"cursor": cursor} if cursor else {})).json()
                    seen += [item[field] for item in page[key]]
                    cursor = page.get("nextCursor")
                    if cursor is None:
                        break
                assert seen == expected
