"""Sampling answered by the gateway's own model (`servers[].sampling: gateway | auto`), through a standalone
gateway on a socket: the notes example (HTTP in both upstream eras, and handshake-era stdio) and npm
server-everything ask for sampling inside a tool call, the scripted OpenAI-compatible server plays the
provider, and SDK clients of both eras call. The turn's tokens × the model's price land on the caller's
budget, its audit record names the tool call as parent, refusals and provider failures reach the upstream
as errors that name them, and `relay` (the default) is unchanged."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import mcp_types as types
import pytest

from mcp_guard import Gateway
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.budget.config import BudgetConfig, TierBudget
from mcp_guard.chat.sampling import choose_model, provider_request, sampling_result
from mcp_guard.config import parse_config
from mcp_guard.errors import BadRequest, ConfigError, UpstreamError
from mcp_guard.server import standalone_app
from mcp_guard.state import RequestState
from mcp_guard.tool_call import ToolCall
from tests.integration.test_client_requests import ERAS, Answers, call, text_of
from tests.servers.test_servers_api import on_a_socket
from tests.support.processes import ServerProcess
from tests.support.servers import everything_stdio_params, notes_server, notes_stdio_params

from .world import LLM_PRICE

pytestmark = pytest.mark.anyio
USAGE = {"prompt_tokens": 120, "completion_tokens": 30}
COST = (120 * LLM_PRICE["input"] + 30 * LLM_PRICE["output"]) / 1_000_000  # $0.0312
TEAM_BUDGET = {"limit": 1.0, "period": "1d"}


async def scripted(llm: ServerProcess, *turns: dict[str, Any]) -> str:
    """A fresh `scripted/<name>` model that answers `turns` (the last one repeated)."""
    name = f"sampling-{uuid.uuid4().hex[:8]}"
    async with httpx2.AsyncClient() as http:
        response = await http.put(f"{llm.base_url}/_scripts/{name}", json={"turns": list(turns), "repeat_last": True})
        response.raise_for_status()
    return f"scripted/{name}"


async def received(llm: ServerProcess, model: str) -> list[dict[str, Any]]:
    async with httpx2.AsyncClient() as http:
        return list((await http.get(f"{llm.base_url}/_received/{model.split('/', 1)[1]}")).json())


def document(
    llm: ServerProcess,
    server: dict[str, Any],
    models: list[str],
    budget: dict[str, Any] = TEAM_BUDGET,
    token_limit: str | None = None,
) -> dict[str, Any]:
    """Keys `alice` and `bob` of team `eng` (with `budget`), allowed every tool; the scripted provider."""
    keys = {name: generate_key() for name in ("alice", "bob")}
    provider = {"base_url": llm.url, "pricing": {"*": LLM_PRICE}}
    rules = [{"limit": token_limit}] if token_limit else []
    return {
        "servers": {server.pop("name"): server},
        "roles": {"user": {"tools": ["*"]}},
        "teams": {"eng": {"budget": budget}},
        "keys": [{"name": n, "hash": hash_key(k), "roles": ["user"], "team": "eng"} for n, k in keys.items()],
        "auth": {"store": "memory://"},
        "audit": {"sink": "memory://", "synchronous": True},
        "llm": {"providers": {"scripted": provider}, "token_limits": {"rules": rules}},
        "sampling": {"models": models},
        "_keys": keys,
    }


@asynccontextmanager
async def gateway_over(doc: dict[str, Any]) -> AsyncIterator[tuple[str, dict[str, str], Gateway]]:
    keys = doc.pop("_keys")
    gateway = Gateway(parse_config(doc))
    async with gateway.lifespan(), on_a_socket(standalone_app(gateway)) as base:
        yield base, keys, gateway


@asynccontextmanager
async def notes_gateway(
    llm: ServerProcess, sampling: str, models: list[str], upstream_era: str = "auto", **settings: Any
) -> AsyncIterator[tuple[str, dict[str, str], Gateway]]:
    """`settings`: the rest of `document`'s."""
    async with notes_server("http") as server:
        notes = {"name": "notes", "transport": "http", "url": server.url, "protocol": upstream_era}
        async with gateway_over(document(llm, {**notes, "sampling": sampling}, models, **settings)) as g:
            yield g


async def team_spent(gateway: Gateway) -> float:
    budget = gateway.config.teams["eng"].budget or BudgetConfig(**TEAM_BUDGET)
    (status,) = await gateway.governance.budget.status([TierBudget("team", "eng", budget)])
    return float(status["spent"])


async def records(gateway: Gateway) -> tuple[dict[str, Any], dict[str, Any]]:
    """The tool call's record and its sampling turn's, which names it as parent."""
    found = await gateway.governance.audit.query()
    (sampled,) = [r for r in found if r["entry"] == "sampling"]
    (cause,) = [r for r in found if r["call_id"] == sampled["parent_id"]]
    return cause, sampled


@pytest.mark.parametrize("upstream_era", ["auto", "legacy"])
@pytest.mark.parametrize("era", ERAS)
async def test_gateway_mode_samples_with_its_model_on_the_callers_budget(llm, era: str, upstream_era: str):
    """`sampling: gateway`: even a client that can sample is not asked; the provider gets the request, the
    upstream its answer, the team's budget the tokens at the model's price, the audit a turn under the call."""
    model = await scripted(llm, {"content": "four", "usage": USAGE})
    async with notes_gateway(llm, "gateway", [model], upstream_era) as (base, keys, gateway):
        answers = Answers()
        result = await call(base, keys["alice"], era, answers, "notes__ask_model", {"prompt": "2+2?"})
        spent = await team_spent(gateway)
        cause, sampled = await records(gateway)
    assert not result.is_error, text_of(result)
    assert text_of(result) == f"{model.split('/', 1)[1]}: four" and answers.asked == []
    (sent,) = await received(llm, model)
    assert sent["body"]["messages"] == [{"role": "user", "content": "2+2?"}] and sent["body"]["max_tokens"] == 64
    assert spent == pytest.approx(COST)
    assert (cause["server"], cause["tool"], cause["outcome"]) == ("notes", "ask_model", "ok")
    assert (sampled["server"], sampled["tool"], sampled["key_name"]) == ("llm", model, "alice")
    assert sampled["outcome"] == "ok" and sampled["cost"] == pytest.approx(COST)
    arguments = sampled["arguments"]
    assert arguments["server"] == "notes" and arguments["max_output_tokens"] == 64
    assert (arguments["prompt_tokens"], arguments["completion_tokens"]) == (120, 30)


@pytest.mark.parametrize("upstream_era", ["auto", "legacy"])
async def test_a_model_hint_picks_among_the_models_and_include_context_is_recorded_as_not_honoured(
    llm, upstream_era: str
):
    first = await scripted(llm, {"content": "first", "usage": USAGE})
    second = await scripted(llm, {"content": "second", "usage": USAGE})
    async with notes_gateway(llm, "gateway", [first, second], upstream_era) as (base, keys, gateway):
        arguments = {"prompt": "2+2?", "hint": second.split("-", 1)[1].upper(), "include_context": "thisServer"}
        result = await call(base, keys["alice"], "auto", None, "notes__ask_model", arguments)
        _cause, sampled = await records(gateway)
    assert text_of(result).endswith(": second") and sampled["tool"] == second
    assert await received(llm, first) == [] and len(await received(llm, second)) == 1
    assert sampled["arguments"]["include_context"] == "thisServer (not honoured: sampled as 'none')"


@pytest.mark.parametrize("era", ERAS)
async def test_auto_mode_asks_a_client_that_can_sample_and_samples_for_one_that_cannot(llm, era: str):
    model = await scripted(llm, {"content": "four", "usage": USAGE})
    async with notes_gateway(llm, "auto", [model]) as (base, keys, gateway):
        answers = Answers()
        relayed = await call(base, keys["alice"], era, answers, "notes__ask_model", {"prompt": "2+2?"})
        assert await received(llm, model) == [] and await team_spent(gateway) == 0
        sampled = await call(base, keys["alice"], era, None, "notes__ask_model", {"prompt": "2+2?"})
        spent = await team_spent(gateway)
    assert text_of(relayed) == "client-model: four" and answers.asked == ["sampling"]
    assert not sampled.is_error and text_of(sampled).endswith(": four")
    assert len(await received(llm, model)) == 1 and spent == pytest.approx(COST)


@pytest.mark.parametrize("era", ERAS)
async def test_relay_mode_is_unchanged_a_client_that_cannot_sample_is_refused(llm, era: str):
    model = await scripted(llm, {"content": "four", "usage": USAGE})
    async with notes_gateway(llm, "relay", [model]) as (base, keys, gateway):
        refused = await call(base, keys["alice"], era, None, "notes__ask_model", {"prompt": "2+2?"})
        relayed = await call(base, keys["alice"], era, Answers(), "notes__ask_model", {"prompt": "2+2?"})
        found = await gateway.governance.audit.query()
    assert refused.is_error and "sampling" in text_of(refused) and "capability" in text_of(refused)
    assert text_of(relayed) == "client-model: four"
    assert await received(llm, model) == [] and not [r for r in found if r["entry"] == "sampling"]
    assert [r["arguments"] for r in found if r["tool"] == "sampling:notes"] == [{"model": "client-model"}]


@pytest.mark.parametrize(
    ("settings", "reason", "says"),
    [
        ({"budget": {"limit": 0.01, "period": "1d"}}, "budget_exceeded", "Budget of team 'eng' exceeded"),
        ({"token_limit": "10/minute"}, "rate_limited", "Token limit of key 'alice' exceeded"),
    ],
    ids=["budget", "token-limit"],
)
async def test_a_refused_sampling_reaches_the_upstream_as_an_error_and_is_audited(llm, settings, reason, says):
    """Over budget (64 tokens at $1000/M may cost $0.064 > $0.01), or over a token limit: the provider is not
    called, the upstream is told why, and the refusal is audited under the tool call."""
    model = await scripted(llm, {"content": "four", "usage": USAGE})
    async with notes_gateway(llm, "gateway", [model], **settings) as (base, keys, gateway):
        result = await call(base, keys["alice"], "auto", None, "notes__ask_model", {"prompt": "2+2?"})
        cause, sampled = await records(gateway)
    assert result.is_error and says in text_of(result) and f"could not sample '{model}'" in text_of(result)
    assert await received(llm, model) == []
    assert (sampled["decision"], sampled["reason"], sampled["cost"]) == ("denied", reason, 0)
    assert cause["tool"] == "ask_model" and sampled["parent_id"] == cause["call_id"]


async def test_a_provider_failure_reaches_the_upstream_as_an_error_that_names_it(llm):
    model = await scripted(llm, {"status": 503, "error": "the model is overloaded"})
    async with notes_gateway(llm, "gateway", [model]) as (base, keys, gateway):
        result = await call(base, keys["alice"], "legacy", None, "notes__ask_model", {"prompt": "2+2?"})
        spent = await team_spent(gateway)
        _cause, sampled = await records(gateway)
    assert result.is_error and "Provider 'scripted' answered 503: the model is overloaded" in text_of(result)
    assert (sampled["outcome"], sampled["cost"], spent) == ("failed", 0, 0)


@pytest.mark.parametrize("upstream_era", ["legacy", "auto"])
@pytest.mark.parametrize("era", ERAS)
async def test_over_stdio_the_call_that_caused_it_is_charged(llm, era: str, upstream_era: str):
    """A handshake-era stdio upstream's request names no call: the one in flight is the cause, as for relays;
    a 2026-07-28 one asks in its call's result (so such a server's calls skip the direct stdio path)."""
    model = await scripted(llm, {"content": "four", "usage": USAGE})
    params = notes_stdio_params()
    notes = {"name": "notes", "transport": "stdio", "command": params.command, "args": params.args}
    notes |= {"protocol": upstream_era, "sampling": "gateway"}
    async with gateway_over(document(llm, notes, [model])) as (base, keys, gateway):
        result = await call(base, keys["bob"], era, None, "notes__ask_model", {"prompt": "2+2?"})
        spent = await team_spent(gateway)
        cause, sampled = await records(gateway)
    assert not result.is_error and text_of(result).endswith(": four")
    assert spent == pytest.approx(COST) and sampled["key_name"] == cause["key_name"] == "bob"


async def test_a_rest_call_samples_on_its_callers_budget_too(llm):
    """No MCP client at all: a tool executed over REST still has its sampling answered and charged."""
    model = await scripted(llm, {"content": "four", "usage": USAGE})
    async with notes_gateway(llm, "gateway", [model]) as (base, keys, gateway):
        body = {
            "id": "c1",
            "type": "function",
            "function": {"name": "notes__ask_model", "arguments": '{"prompt": "x"}'},
        }
        async with httpx2.AsyncClient(headers={"authorization": f"Bearer {keys['alice']}"}) as http:
            response = await http.post(f"{base}/mcp/tool/execute", json=body)
        spent = await team_spent(gateway)
        cause, sampled = await records(gateway)
    assert response.status_code == 200 and response.json()["content"].endswith(": four"), response.text
    assert spent == pytest.approx(COST) and (cause["entry"], sampled["parent_id"]) == ("rest", cause["call_id"])


@pytest.mark.node
@pytest.mark.parametrize("era", ERAS)
async def test_server_everything_sampling_through_the_gateways_model(llm, era: str):
    model = await scripted(llm, {"content": "four", "usage": USAGE})
    params = everything_stdio_params()
    everything = {"name": "everything", "transport": "stdio", "command": params.command, "args": params.args}
    async with gateway_over(document(llm, {**everything, "sampling": "gateway"}, [model])) as (base, keys, gw):
        arguments = {"prompt": "2+2?", "maxTokens": 50}
        result = await call(base, keys["alice"], era, None, "everything__trigger-sampling-request", arguments)
        spent = await team_spent(gw)
    assert not result.is_error and '"text": "four"' in text_of(result) and '"stopReason": "endTurn"' in text_of(result)
    (sent,) = await received(llm, model)
    assert sent["body"]["messages"][0] == {"role": "system", "content": "You are a helpful test server."}
    assert (sent["body"]["max_tokens"], sent["body"]["temperature"]) == (50, 0.7)
    assert spent == pytest.approx(COST)


def test_a_server_the_gateway_samples_for_needs_models_it_can_reach():
    server = {"notes": {"transport": "http", "url": "http://127.0.0.1:1/mcp", "sampling": "auto"}}
    with pytest.raises(ConfigError, match=r"servers \['notes'\] let the gateway answer sampling"):
        parse_config({"servers": server})
    with pytest.raises(ConfigError, match="sampling.models: Unknown provider 'nope'"):
        parse_config({"servers": server, "sampling": {"models": ["nope/model"]}})


async def test_refuse_mode_asks_nobody(llm):
    model = await scripted(llm, {"content": "four", "usage": USAGE})
    async with notes_gateway(llm, "refuse", [model]) as (base, keys, _gateway):
        answers = Answers()
        result = await call(base, keys["alice"], "legacy", answers, "notes__ask_model", {"prompt": "2+2?"})
    assert result.is_error and "does not answer sampling requests of 'notes'" in text_of(result)
    assert answers.asked == [] and await received(llm, model) == []


def text(value: str) -> types.TextContent:
    return types.TextContent(type="text", text=value)


def request(*messages: types.SamplingMessage, **params: Any) -> types.CreateMessageRequestParams:
    return types.CreateMessageRequestParams(messages=list(messages), **{"max_tokens": 500, **params})


def test_the_request_maps_onto_the_providers():
    image = types.ImageContent(type="image", data="aW1n", mime_type="image/png")
    audio = types.AudioContent(type="audio", data="c25k", mime_type="audio/wav")
    params = request(
        types.SamplingMessage(role="user", content=[text("look"), image, audio]),
        types.SamplingMessage(role="assistant", content=text("a cat")),
        types.SamplingMessage(role="user", content=[text("and"), text("then?")]),
        system_prompt="Be brief.",
        temperature=0.2,
        stop_sequences=["END"],
        include_context="thisServer",
        metadata={"not": "sent"},
    )
    assert provider_request("m", params, max_tokens=100) == {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,aW1n"}},
                    {"type": "input_audio", "input_audio": {"data": "c25k", "format": "wav"}},
                ],
            },
            {"role": "assistant", "content": "a cat"},
            {"role": "user", "content": "and\nthen?"},
        ],
        "max_tokens": 100,  # 500 asked, lowered to `sampling.max_tokens`
        "temperature": 0.2,
        "stop": ["END"],
    }


@pytest.mark.parametrize(
    ("params", "says"),
    [
        (request(types.SamplingMessage(role="user", content=text("x")), max_tokens=0), "maxTokens must be positive"),
        (
            request(
                types.SamplingMessage(role="user", content=text("x")),
                tools=[types.Tool(name="t", input_schema={"type": "object"})],
            ),
            "sampling with tools is not fulfilled",
        ),
        (
            request(
                types.SamplingMessage(
                    role="user", content=types.AudioContent(type="audio", data="x", mime_type="audio/ogg")
                )
            ),
            "audio of type 'audio/ogg'",
        ),
    ],
    ids=["no-tokens", "tools", "ogg"],
)
def test_what_cannot_be_sent_is_refused_by_name(params: types.CreateMessageRequestParams, says: str):
    with pytest.raises(BadRequest, match=says):
        provider_request("m", params, max_tokens=100)


def test_model_hints_pick_among_the_configured_models_in_hint_order():
    models = ["openai/gpt-4.1-mini", "anthropic/claude-sonnet-4", "openai/gpt-4.1"]

    def hinted(*names: str | None) -> types.ModelPreferences:
        return types.ModelPreferences(hints=[types.ModelHint(name=n) for n in names])

    assert choose_model(models, None) == "openai/gpt-4.1-mini"
    assert choose_model(models, hinted("SONNET")) == "anthropic/claude-sonnet-4"
    assert choose_model(models, hinted("gemini", None, "gpt-4.1")) == "openai/gpt-4.1-mini"
    assert choose_model(models, hinted("gemini")) == "openai/gpt-4.1-mini"


def test_the_providers_answer_maps_back():
    answer = {"model": "gpt-4.1-2025", "choices": [{"message": {"content": "hi"}, "finish_reason": "length"}]}
    result = sampling_result(answer, "gpt-4.1")
    assert (result.role, result.content, result.model, result.stop_reason) == (
        "assistant",
        text("hi"),
        "gpt-4.1-2025",
        "maxTokens",
    )
    assert sampling_result({"choices": [{"message": {"content": ""}}]}, "m").model == "m"
    with pytest.raises(UpstreamError, match="no text message"):
        sampling_result({"choices": [{"message": {"content": None, "tool_calls": []}}]}, "m")


async def test_a_request_the_provider_cannot_be_sent_is_refused_and_audited_under_its_call(llm):
    """Sampling with tools, straight to the gateway's sampler (no upstream sends it): refused by name,
    recorded as denied under the call that caused it, the provider never called."""
    model = await scripted(llm, {"content": "four", "usage": USAGE})
    server = {"name": "notes", "transport": "http", "url": "http://127.0.0.1:9/mcp", "enabled": False}
    doc = document(llm, {**server, "sampling": "gateway"}, [model])
    doc.pop("_keys")
    gateway = Gateway(parse_config(doc))
    async with gateway.lifespan():
        cause = ToolCall("notes/ask_model", {}, RequestState(audit=gateway.governance.audit))
        tools = [types.Tool(name="t", input_schema={"type": "object"})]
        params = request(types.SamplingMessage(role="user", content=text("x")), tools=tools)
        answer = await gateway.pipeline.sampler.sample("notes", cause, params)  # type: ignore[union-attr]
        (record,) = await gateway.governance.audit.query()
    assert isinstance(answer, types.ErrorData) and answer.code == types.INVALID_PARAMS
    assert answer.message.startswith(f"mcp-guard could not sample '{model}' for 'notes': sampling with tools")
    assert answer.data == {"status": 400, "reason": "bad_request"}
    assert (record["server"], record["tool"], record["entry"]) == ("llm", model, "sampling")
    assert (record["decision"], record["reason"], record["parent_id"]) == ("denied", "bad_request", cause.id)
    assert await received(llm, model) == []
