"""relay.py and the capability rules of router/client_requests.py, without a network: which relay an
upstream's request goes to, and what a client must have declared to be asked."""

import anyio
import mcp_types as types
import pytest

from mcp_guard.relay import (
    InFlight,
    InputAnswer,
    InputRequest,
    bind_cause,
    relaying,
    unbind_cause,
    upstream_callbacks,
)
from mcp_guard.router.client_requests import unsupported

pytestmark = pytest.mark.anyio
FORM = types.ElicitRequest(params=types.ElicitRequestFormParams(message="ok?", requested_schema={"type": "object"}))
URL = types.ElicitRequest(
    params=types.ElicitRequestURLParams(message="log in", url="https://x.example", elicitation_id="e1")
)
SAMPLE = types.CreateMessageRequest(params=types.CreateMessageRequestParams(messages=[], max_tokens=5))


class Recorder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.asked: list[tuple[str, str]] = []

    async def ask(self, server: str, request: InputRequest) -> InputAnswer:
        self.asked.append((server, request.method))
        return types.ElicitResult(action="decline")


async def elicit(in_flight: InFlight) -> types.ElicitResult | types.ErrorData:
    on_elicit, _ = upstream_callbacks("notes", in_flight)
    return await on_elicit(None, FORM.params)  # type: ignore[arg-type]


async def in_a_call(in_flight: InFlight, relay: Recorder, started: anyio.Event, done: anyio.Event) -> None:
    with relaying(relay), in_flight.call():  # in a task of its own: the caller's context stays unbound
        started.set()
        await done.wait()


async def test_the_call_bound_here_gets_the_request_even_with_another_in_flight():
    mine, other = Recorder("mine"), Recorder("other")
    in_flight = InFlight()
    async with anyio.create_task_group() as tg:
        started, done = anyio.Event(), anyio.Event()
        tg.start_soon(in_a_call, in_flight, other, started, done)
        await started.wait()
        with relaying(mine), in_flight.call():
            answer = await elicit(in_flight)
        done.set()
    assert isinstance(answer, types.ElicitResult) and mine.asked == [("notes", "elicitation/create")]
    assert other.asked == []


async def test_a_call_without_a_relay_is_answered_with_an_error_naming_the_capability():
    in_flight = InFlight()
    with relaying(None), in_flight.call():
        answer = await elicit(in_flight)
    assert isinstance(answer, types.ErrorData) and "did not declare the elicitation capability" in answer.message


async def test_outside_any_call_the_one_call_in_flight_gets_it_and_two_get_nothing():
    """The SDK's receive loop (stdio, SSE) has no call's context: the in-flight register decides."""
    first, second = Recorder("first"), Recorder("second")
    in_flight = InFlight()

    async with anyio.create_task_group() as tg:
        one_started, one_done, two_started, two_done = anyio.Event(), anyio.Event(), anyio.Event(), anyio.Event()
        tg.start_soon(in_a_call, in_flight, first, one_started, one_done)
        await one_started.wait()
        assert isinstance(await elicit(in_flight), types.ElicitResult) and len(first.asked) == 1
        tg.start_soon(in_a_call, in_flight, second, two_started, two_done)
        await two_started.wait()
        refused = await elicit(in_flight)
        assert isinstance(refused, types.ErrorData) and "several calls are in flight" in refused.message
        assert len(first.asked) == 1 and second.asked == []
        one_done.set()
        two_done.set()
    refused = await elicit(in_flight)
    assert isinstance(refused, types.ErrorData) and "no call of the gateway is in flight" in refused.message


@pytest.mark.parametrize(
    ("declared", "request_", "missing"),
    [
        ({}, FORM, "the elicitation capability"),
        ({"elicitation": {}}, FORM, None),  # an empty elicitation capability means form mode
        ({"elicitation": {}}, URL, "URL mode elicitation"),
        ({"elicitation": {"url": {}}}, FORM, "form mode elicitation"),
        ({"elicitation": {"url": {}}}, URL, None),
        ({"elicitation": {"form": {}}}, SAMPLE, "the sampling capability"),
        ({"sampling": {}}, SAMPLE, None),
    ],
)
def test_what_a_client_must_have_declared(declared: dict, request_: InputRequest, missing: str | None):
    reason = unsupported(request_, types.ClientCapabilities.model_validate(declared))
    assert reason == (None if missing is None else f"the client that caused this call did not declare {missing}")


class Sampling(Recorder):
    """A client that declared `capabilities` and answers sampling; the gateway's own sampler, recording."""

    def __init__(self, name: str, capabilities: dict | None = None) -> None:
        super().__init__(name)
        self.declared = types.ClientCapabilities.model_validate(capabilities or {})
        self.sampled: list[tuple[str, object]] = []

    async def ask(self, server: str, request: InputRequest) -> InputAnswer:
        self.asked.append((server, request.method))
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text="x"), model=self.name
        )

    async def sample(self, server: str, call: object, params: types.CreateMessageRequestParams) -> InputAnswer:
        self.sampled.append((server, call))
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text="x"), model=self.name
        )


@pytest.mark.parametrize(
    ("mode", "capabilities", "answered_by"),
    [
        ("relay", {"sampling": {}}, "client"),
        ("auto", {"sampling": {}}, "client"),
        ("auto", {"elicitation": {}}, "gateway"),
        ("auto", None, "gateway"),  # no relay at all: a REST or Code Mode call, or a client that declared nothing
        ("gateway", {"sampling": {}}, "gateway"),
        ("refuse", {"sampling": {}}, None),
    ],
)
async def test_who_answers_sampling_in_each_mode(mode: str, capabilities: dict | None, answered_by: str | None):
    client, gateway, in_flight = Sampling("client", capabilities), Sampling("gateway"), InFlight()
    _, on_sample = upstream_callbacks("notes", in_flight, mode)
    token = bind_cause("the tool call", gateway)
    try:
        with relaying(client if capabilities is not None else None), in_flight.call():
            answer = await on_sample(None, SAMPLE.params)  # type: ignore[arg-type]
    finally:
        unbind_cause(token)
    if answered_by is None:
        assert isinstance(answer, types.ErrorData) and "does not answer sampling requests of 'notes'" in answer.message
    else:
        assert isinstance(answer, types.CreateMessageResult) and answer.model == answered_by
    assert gateway.sampled == ([("notes", "the tool call")] if answered_by == "gateway" else [])
    assert client.asked == ([("notes", "sampling/createMessage")] if answered_by == "client" else [])


async def test_outside_any_call_the_gateway_samples_for_the_one_call_in_flight_only():
    """The cause is registered with the call, as its relay is: the receive loop finds it the same way."""
    gateway, in_flight = Sampling("gateway"), InFlight()
    _, on_sample = upstream_callbacks("notes", in_flight, "gateway")

    async def caused_call(started: anyio.Event, done: anyio.Event) -> None:
        token = bind_cause("alice's call", gateway)
        try:
            with relaying(None), in_flight.call():
                started.set()
                await done.wait()
        finally:
            unbind_cause(token)

    async with anyio.create_task_group() as tg:
        started, done = anyio.Event(), anyio.Event()
        tg.start_soon(caused_call, started, done)
        await started.wait()
        assert isinstance(await on_sample(None, SAMPLE.params), types.CreateMessageResult)  # type: ignore[arg-type]
        done.set()
    refused = await on_sample(None, SAMPLE.params)  # type: ignore[arg-type]
    assert isinstance(refused, types.ErrorData) and "no call of the gateway is in flight" in refused.message
    assert gateway.sampled == [("notes", "alice's call")]
