"""Elicitation and sampling of upstreams relayed to the client whose call caused them, through a standalone
gateway: SDK clients of both eras (callbacks answering accept, decline, cancel, or never), over the notes
example server as a 2026-07-28 upstream (`input_required` results) and as a handshake-era one (requests on
its stream), and over npm server-everything. Another key's session never receives the request."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp import MCPError

from mcp_guard import Gateway
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config
from mcp_guard.names import gateway_uri
from mcp_guard.server import standalone_app
from tests.servers.test_servers_api import on_a_socket
from tests.support.servers import everything_stdio_params, notes_server, notes_stdio_params

from .test_resources_list_changed import keyed
from .upstream_fixtures import stdio_config, url_config

pytestmark = pytest.mark.anyio
ERAS = ["auto", "legacy"]  # the client's: 2026-07-28, or the handshake era


class Answers:
    """A client's callbacks: answer every elicitation with `action` (after `delay` seconds), every sampling
    request with a fixed text; remember what was asked."""

    def __init__(self, action: str = "accept", delay: float = 0.0) -> None:
        self.action, self.delay = action, delay
        self.asked: list[str] = []

    async def elicit(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.asked.append(params.url if isinstance(params, types.ElicitRequestURLParams) else params.message)
        await anyio.sleep(self.delay)
        if isinstance(params, types.ElicitRequestURLParams) or self.action != "accept":
            return types.ElicitResult(action=self.action)  # type: ignore[arg-type]
        return types.ElicitResult(action="accept", content={"ok": True, "name": "Ada"})

    async def sample(self, context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.asked.append("sampling")
        await anyio.sleep(self.delay)
        text = types.TextContent(type="text", text="four")
        return types.CreateMessageResult(role="assistant", content=text, model="client-model")

    def options(self) -> dict[str, Any]:
        return {"elicitation_callback": self.elicit, "sampling_callback": self.sample}


@asynccontextmanager
async def governed(*servers: Any, **settings: Any) -> AsyncIterator[tuple[str, str, str, Gateway]]:
    """A standalone gateway on a socket with two keys, `alice` and `bob`, both allowed every tool."""
    keys = {name: generate_key() for name in ("alice", "bob")}
    document = {
        "servers": [s.model_dump(exclude_defaults=True) for s in servers],
        "roles": {"user": {"tools": ["*"], "resources": ["*"], "prompts": ["*"]}},
        "keys": [{"name": name, "hash": hash_key(key), "roles": ["user"]} for name, key in keys.items()],
        "auth": {"store": "memory://"},
        "audit": {"sink": "memory://", "synchronous": True},
        **settings,
    }
    gateway = Gateway(parse_config(document))
    async with gateway.lifespan(), on_a_socket(standalone_app(gateway)) as base:
        yield base, keys["alice"], keys["bob"], gateway


@asynccontextmanager
async def notes_behind(
    upstream_era: str = "auto", asking_items: bool = False, **settings: Any
) -> AsyncIterator[tuple[str, str, str, Gateway]]:
    """`governed` over the notes example on HTTP, spoken to in `upstream_era` (`auto`: 2026-07-28)."""
    async with notes_server("http", asking_items=asking_items) as server:
        async with governed(url_config("notes", server.url, protocol=upstream_era), **settings) as g:
            yield g


def text_of(result: types.CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def call(base: str, key: str, era: str, answers: Answers | None, tool: str, arguments: dict[str, Any]) -> Any:
    options = answers.options() if answers is not None else {}
    with anyio.fail_after(30):
        async with keyed(base, key, era, **options) as client:
            return await client.call_tool(tool, arguments)


@pytest.mark.parametrize("upstream_era", ["auto", "legacy"])
@pytest.mark.parametrize("era", ERAS)
async def test_elicitation_and_sampling_reach_the_caller_and_come_back(era: str, upstream_era: str):
    async with notes_behind(upstream_era) as (base, alice, _bob, _gw):
        answers = Answers()
        result = await call(base, alice, era, answers, "notes__confirm", {"question": "Delete it?"})
        assert not result.is_error and text_of(result) == "accept ok=True"
        result = await call(base, alice, era, answers, "notes__ask_model", {"prompt": "2+2?"})
        assert not result.is_error and text_of(result) == "client-model: four"
        assert answers.asked == ["Delete it?", "sampling"]


@pytest.mark.parametrize("upstream_era", ["auto", "legacy"])
@pytest.mark.parametrize("era", ERAS)
async def test_elicitation_while_reading_or_getting_a_prompt_reaches_the_caller(era: str, upstream_era: str):
    async with notes_behind(upstream_era, asking_items=True) as (base, alice, _bob, gateway):
        answers = Answers()
        with anyio.fail_after(30):
            async with keyed(base, alice, era, **answers.options()) as client:
                read = await client.read_resource(gateway_uri("notes", "notes://ask/Read-it"))
                assert [c.text for c in read.contents] == ["accept ok=True"]
                got = await client.get_prompt("notes__ask_first", {"question": "Fill-it-in"})
                assert [m.content.text for m in got.messages] == ["The user answered: accept ok=True"]
            async with keyed(base, alice, era) as incapable:  # declared neither elicitation nor sampling
                with pytest.raises(MCPError) as refused:
                    await incapable.get_prompt("notes__ask_first", {"question": "Again"})
                assert "did not declare the elicitation capability" in refused.value.error.message
        assert answers.asked == ["Read-it", "Fill-it-in"]
        records = [r for r in await gateway.governance.audit.query() if r["tool"] == "elicitation:notes"]
        assert [r["outcome"] for r in records] == ["ok", "ok"]


async def test_a_url_elicitations_completion_reaches_the_client_that_accepted_it():
    """A handshake-era client accepts an upstream's URL elicitation; the upstream's
    `notifications/elicitation/complete` for it then reaches that client, and not another key's."""
    async with notes_behind("legacy", asking_items=True) as (base, alice, bob, _gw):
        completed: dict[str, list[str]] = {"alice": [], "bob": []}
        arrived = anyio.Event()

        def handler(who: str) -> Any:
            async def on_message(message: Any) -> None:
                if isinstance(message, types.ElicitCompleteNotification):
                    completed[who].append(message.params.elicitation_id)
                    arrived.set()

            return on_message

        answers = Answers()
        with anyio.fail_after(30):
            async with keyed(base, bob, "legacy", message_handler=handler("bob"), **Answers().options()):
                async with keyed(base, alice, "legacy", message_handler=handler("alice"), **answers.options()) as c:
                    result = await c.call_tool("notes__visit", {"url": "https://auth.example.com/done"})
                    assert not result.is_error, text_of(result)
                    action, elicitation_id = text_of(result).split()
                    assert action == "accept" and answers.asked == ["https://auth.example.com/done"]
                    await arrived.wait()
        assert completed == {"alice": [elicitation_id], "bob": []}


@pytest.mark.parametrize("action", ["decline", "cancel"])
@pytest.mark.parametrize("era", ERAS)
async def test_a_decline_or_cancel_goes_back_to_the_upstream_as_such(era: str, action: str):
    async with notes_behind() as (base, alice, _, _gw):
        result = await call(base, alice, era, Answers(action), "notes__confirm", {"question": "Delete it?"})
        assert not result.is_error and text_of(result) == action


@pytest.mark.parametrize("upstream_era", ["auto", "legacy"])
@pytest.mark.parametrize("era", ERAS)
async def test_an_unanswered_question_reaches_the_upstream_as_a_timeout(era: str, upstream_era: str):
    async with notes_behind(upstream_era, client_request_timeout=0.5) as (base, alice, _, gateway):
        result = await call(base, alice, era, Answers(delay=3), "notes__confirm", {"question": "Still there?"})
        assert result.is_error and "did not answer the elicitation request within 0.5 s" in text_of(result)
        (record,) = [r for r in await gateway.governance.audit.query() if r["tool"] == "elicitation:notes"]
        assert record["outcome"] != "ok" and "did not answer" in str(record["error"])


@pytest.mark.parametrize("era", ERAS)
async def test_a_client_without_the_capability_gets_an_error_that_says_so(era: str):
    async with notes_behind() as (base, alice, _, _gw):
        result = await call(base, alice, era, None, "notes__confirm", {"question": "Delete it?"})
        assert result.is_error
        assert "elicitation" in text_of(result) and "capability" in text_of(result)


async def test_concurrent_callers_each_get_only_their_own_question():
    """Alice (2026-07-28) and Bob (handshake era) ask at once over one upstream connection: each is asked
    once, its own question, and each gets the result of its own answer."""
    async with notes_behind() as (base, alice, bob, _gw):
        alice_answers, bob_answers = Answers("accept", delay=0.3), Answers("decline", delay=0.3)
        results: dict[str, Any] = {}

        async def ask(who: str, key: str, era: str, answers: Answers) -> None:
            results[who] = await call(base, key, era, answers, "notes__confirm", {"question": f"{who}?"})

        async with anyio.create_task_group() as tg:
            tg.start_soon(ask, "alice", alice, "auto", alice_answers)
            tg.start_soon(ask, "bob", bob, "legacy", bob_answers)
        assert alice_answers.asked == ["alice?"] and bob_answers.asked == ["bob?"]
        assert text_of(results["alice"]) == "accept ok=True" and text_of(results["bob"]) == "decline"


async def test_another_keys_retry_cannot_answer_a_parked_question():
    """A 2026-07-28 question's `requestState` is bound to the key it went to."""
    async with notes_behind() as (base, alice, bob, _gw):
        with anyio.fail_after(30):
            async with keyed(base, alice, **Answers().options()) as alice_client:
                first = await alice_client.session.call_tool(
                    "notes__confirm", {"question": "Mine?"}, allow_input_required=True
                )
                assert isinstance(first, types.InputRequiredResult) and first.request_state
                (key,) = first.input_requests or {}
                answer = types.ElicitResult(action="accept", content={"ok": True})
                async with keyed(base, bob, **Answers().options()) as bob_client:
                    with pytest.raises(Exception, match="unknown or expired requestState"):
                        await bob_client.session.call_tool(
                            "notes__confirm",
                            {"question": "Mine?"},
                            input_responses={key: answer},
                            request_state=first.request_state,
                            allow_input_required=True,
                        )
                final = await alice_client.session.call_tool(
                    "notes__confirm",
                    {"question": "Mine?"},
                    input_responses={key: answer},
                    request_state=first.request_state,
                    allow_input_required=True,
                )
                assert isinstance(final, types.CallToolResult) and text_of(final) == "accept ok=True"


async def test_relayed_requests_are_audited_without_their_content():
    async with notes_behind() as (base, alice, _, gateway):
        await call(base, alice, "legacy", Answers(), "notes__confirm", {"question": "secret question"})
        await call(base, alice, "auto", Answers("decline"), "notes__confirm", {"question": "secret question"})
        records = await gateway.governance.audit.query()
        relayed = [r for r in records if r["tool"] == "elicitation:notes"]
        assert [(r["key_name"], r["server"], r["arguments"], r["outcome"]) for r in relayed] == [
            ("alice", "notes", {"action": "decline"}, "ok"),  # newest first
            ("alice", "notes", {"action": "accept"}, "ok"),
        ]
        assert all("secret" not in repr(r) and "Ada" not in repr(r) for r in relayed)


@pytest.mark.node
@pytest.mark.parametrize("era", ERAS)
async def test_server_everything_elicitation_and_sampling(era: str):
    everything = stdio_config("everything", everything_stdio_params())
    async with governed(everything) as (base, alice, _, _gw):
        answers = Answers()
        result = await call(base, alice, era, answers, "everything__trigger-elicitation-request", {})
        assert not result.is_error and "Ada" in text_of(result)
        result = await call(base, alice, era, Answers("decline"), "everything__trigger-elicitation-request", {})
        assert "declined" in text_of(result)
        result = await call(base, alice, era, answers, "everything__trigger-sampling-request", {"prompt": "2+2?"})
        assert not result.is_error and "four" in text_of(result)
        url = "https://auth.example.com/consent"
        result = await call(base, alice, era, answers, "everything__trigger-url-elicitation", {"url": url})
        assert not result.is_error and "completed the URL elicitation" in text_of(result)
        assert answers.asked == ["Please provide inputs for the following fields:", "sampling", url]


@pytest.mark.node
@pytest.mark.node
async def test_an_upstreams_url_elicitation_required_error_reaches_a_handshake_era_client_as_that_error():
    """server-everything's error path: -32042 with the elicitation to complete, not a tool's error result;
    the same call again then goes through."""
    everything = stdio_config("everything", everything_stdio_params())
    async with governed(everything) as (base, alice, _, gateway):
        answers = Answers()
        url = "https://auth.example.com/consent"
        arguments = {"url": url, "errorPath": True}
        with anyio.fail_after(30):
            async with keyed(base, alice, "legacy", **answers.options()) as client:
                with pytest.raises(MCPError) as refused:
                    await client.call_tool("everything__trigger-url-elicitation", arguments)
        error = refused.value.error
        assert error.code == -32042 and "URL elicitation" in error.message
        (elicitation,) = error.data["elicitations"]
        assert elicitation["mode"] == "url" and elicitation["url"] == "https://modelcontextprotocol.io"
        assert elicitation["elicitationId"]
        result = await call(base, alice, "legacy", answers, "everything__trigger-url-elicitation", arguments)
        assert not result.is_error and "completed the URL elicitation" in text_of(result)
        records = [r for r in await gateway.governance.audit.query() if r["tool"].endswith("trigger-url-elicitation")]
        refused_record, answered = sorted(records, key=lambda r: r["outcome"] == "ok")
        assert answered["outcome"] == "ok" and "URL elicitation" in str(refused_record["error"])


@pytest.mark.node
async def test_an_upstreams_url_elicitation_required_error_is_a_question_for_a_2026_client():
    """2026-07-28 has no -32042: the client is asked to visit the URL (`input_required`), and once it
    accepts, the gateway makes the call again, as a handshake-era client would have."""
    everything = stdio_config("everything", everything_stdio_params())
    async with governed(everything) as (base, alice, _, gateway):
        answers = Answers()
        url = "https://auth.example.com/consent"
        arguments = {"url": url, "errorPath": True}
        result = await call(base, alice, "auto", answers, "everything__trigger-url-elicitation", arguments)
        assert not result.is_error and "completed the URL elicitation" in text_of(result)
        # the prerequisite the error named, then the request path the retry takes
        assert answers.asked == ["https://modelcontextprotocol.io", url]
        records = await gateway.governance.audit.query()
    calls = [r["outcome"] for r in records if r["tool"].endswith("trigger-url-elicitation")]
    assert calls == ["ok", "denied"]  # newest first: the retry, and the -32042
    assert [r["arguments"] for r in records if r["tool"] == "elicitation:everything"] == [{"action": "accept"}] * 2


@pytest.mark.parametrize("era", ERAS)
async def test_a_2026_clients_retry_waits_for_the_upstream_to_say_the_visit_is_complete(era: str):
    """The notes server's `authorize` answers -32042 until its grant lands (1 s after the first ask) and
    then says so with `notifications/elicitation/complete`. A 2026-07-28 client is asked once and its
    accepting retry gets the result: the gateway tries again at once, finds the user not done, waits for
    the completion and tries a last time. A handshake-era client gets the error, as the upstream sent it."""
    async with notes_behind("legacy", asking_items=True) as (base, alice, _bob, gateway):
        answers = Answers()
        if era == "legacy":
            with anyio.fail_after(30):
                async with keyed(base, alice, era, **answers.options()) as client:
                    with pytest.raises(MCPError) as refused:
                        await client.call_tool("notes__authorize", {"account": "ada"})
            assert refused.value.error.code == -32042 and answers.asked == []
            return
        result = await call(base, alice, era, answers, "notes__authorize", {"account": "ada"})
        assert not result.is_error and text_of(result) == "acting for ada"
        assert answers.asked == ["https://auth.example.com/grant/ada"]
        records = await gateway.governance.audit.query()
    assert [r["outcome"] for r in records if r["tool"] == "authorize"] == ["ok", "denied", "denied"]
    assert [r["arguments"] for r in records if r["tool"] == "elicitation:notes"] == [{"action": "accept"}]


@pytest.mark.parametrize("era", ERAS)
async def test_over_stdio_the_one_call_in_flight_gets_the_question(era: str):
    """A handshake-era stdio upstream's request names no call: the only call in flight on it is its cause."""
    notes = stdio_config("notes", notes_stdio_params(), protocol="legacy")
    async with governed(notes) as (base, alice, _, _gw):
        answers = Answers()
        result = await call(base, alice, era, answers, "notes__confirm", {"question": "Over stdio?"})
        assert not result.is_error and text_of(result) == "accept ok=True" and answers.asked == ["Over stdio?"]


async def test_a_handshake_era_upstreams_question_that_cannot_be_attributed_is_refused_not_guessed():
    """Over stdio its requests carry no link to a call: with another key's call in flight on the same upstream
    the gateway cannot tell whose it is, so it reaches neither client and the upstream is told why."""
    notes = stdio_config("notes", notes_stdio_params(), protocol="legacy")
    async with governed(notes) as (base, alice, bob, gateway):
        alice_answers, bob_answers = Answers(), Answers()

        async def bobs_slow_call() -> None:
            # long enough to outlast alice's whole call on a loaded machine
            await call(base, bob, "legacy", bob_answers, "notes__sleep", {"seconds": 6})

        async with anyio.create_task_group() as tg:
            tg.start_soon(bobs_slow_call)
            with anyio.fail_after(10):
                while not gateway.pipeline.in_flight:
                    await anyio.sleep(0.02)
            result = await call(base, alice, "legacy", alice_answers, "notes__confirm", {"question": "Mine?"})
        assert result.is_error and "several calls are in flight" in text_of(result)
        assert alice_answers.asked == [] and bob_answers.asked == []


async def test_an_answer_of_the_wrong_kind_reaches_the_upstream_as_an_error():
    """A 2026-07-28 retry that answers a sampling question with an elicitation result is not passed on as
    if it were one."""
    async with notes_behind() as (base, alice, _, _gw):
        with anyio.fail_after(30):
            async with keyed(base, alice, **Answers().options()) as client:
                arguments = {"prompt": "2+2?"}
                first = await client.session.call_tool("notes__ask_model", arguments, allow_input_required=True)
                assert isinstance(first, types.InputRequiredResult)
                (key,) = first.input_requests or {}
                final = await client.session.call_tool(
                    "notes__ask_model",
                    arguments,
                    input_responses={key: types.ElicitResult(action="accept", content={"ok": True})},
                    request_state=first.request_state,
                    allow_input_required=True,
                )
        assert isinstance(final, types.CallToolResult) and final.is_error
        assert "not a valid sampling result" in text_of(final)


@pytest.mark.parametrize("upstream_era", ["auto", "legacy"])
async def test_a_path_with_no_client_to_ask_gets_a_409_naming_it(upstream_era: str):
    """An upstream that asks for input during a REST call, a REST read or a Code Mode program: a 409 (a
    catchable error in the program) that names the path and what was asked, audited as a refusal; not a
    message about a capability the caller never had a chance to declare."""
    async with notes_server("http", asking_items=True) as server:
        notes = url_config("notes", server.url, protocol=upstream_era)
        coded = url_config("coded", server.url, protocol=upstream_era, code_mode=True)
        async with governed(notes, coded) as (base, alice, _bob, gateway):
            headers = {"authorization": f"Bearer {alice}"}
            async with httpx2.AsyncClient(base_url=f"{base}/mcp", headers=headers, timeout=30) as http:
                function = {"name": "notes__confirm", "arguments": '{"question": "Delete it?"}'}
                answer = await http.post("/tool/execute", json={"id": "1", "type": "function", "function": function})
                assert answer.status_code == 409, answer.text
                assert answer.json()["type"] == "urn:mcp-guard:problem:client_input_unavailable"
                detail = answer.json()["detail"]
                assert "asked for user input (elicitation), which a REST call cannot answer" in detail
                sampled = await http.post(
                    "/tool/execute",
                    json={
                        "id": "2",
                        "type": "function",
                        "function": {"name": "notes__ask_model", "arguments": '{"prompt": "2+2?"}'},
                    },
                )
                assert sampled.status_code == 409 and "the client's model (sampling)" in sampled.json()["detail"]
                read = await http.get("/resources/read", params={"uri": gateway_uri("notes", "notes://ask/sure")})
                assert read.status_code == 409 and "which a REST call cannot answer" in read.json()["detail"]
            with anyio.fail_after(30):
                async with keyed(base, alice) as client:  # declares neither: tools/call takes the fast path
                    program = "try { await coded.confirm({ question: 'Sure?' }) } catch (e) { return e.message }"
                    result = await client.call_tool("executeToolCode", {"code": program})
            assert "which a Code Mode program cannot answer" in text_of(result), text_of(result)
        records = await gateway.governance.audit.query()
        refused = [r for r in records if r["reason"] == "client_input_unavailable"]
        assert {(r["server"], r["tool"], r["entry"], r["outcome"]) for r in refused} == {
            ("notes", "confirm", "rest", "denied"),
            ("notes", "ask_model", "rest", "denied"),
            ("notes", "resource:notes://ask/sure", "rest", "denied"),
            ("coded", "confirm", "code", "denied"),
        }


async def test_a_rest_call_over_a_stdio_upstream_gets_the_409_too():
    """A stdio upstream's calls take the direct path; its question comes on the session's reader and goes to
    the one call in flight, a REST call here, which cannot answer it."""
    notes = stdio_config("notes", notes_stdio_params(), protocol="legacy")
    async with governed(notes) as (base, alice, _bob, gateway):
        headers = {"authorization": f"Bearer {alice}"}
        async with httpx2.AsyncClient(base_url=f"{base}/mcp", headers=headers, timeout=30) as http:
            function = {"name": "notes__confirm", "arguments": '{"question": "Over stdio?"}'}
            answer = await http.post("/tool/execute", json={"id": "1", "type": "function", "function": function})
        assert answer.status_code == 409, answer.text
        assert "user input (elicitation), which a REST call cannot answer" in answer.json()["detail"]
        (record,) = [r for r in await gateway.governance.audit.query() if r["tool"] == "confirm"]
        assert record["reason"] == "client_input_unavailable" and record["outcome"] == "denied"
