"""Elicitation and sampling requests of upstreams, carried to the client whose `tools/call`,
`resources/read` or `prompts/get` caused them (`relay.py` finds that call); one relay per downstream
request, in either era of the client:

- A handshake-era client (`SessionRelay`) gets the classic `elicitation/create` or `sampling/createMessage`
  on its stream, related to its request, and answers it there.
- A 2026-07-28 client has no back-channel: its call is parked (`Parked`). The upstream call keeps running in
  the gateway's task group while the client gets an `input_required` result naming the question and a
  `requestState` handle; its retry with `inputResponses` answers the question and waits for the next
  question or the result. A handle is bound to the key that got it; another key's retry is refused.

URL elicitation in a 2026-07-28 client's call: the revision has neither the -32042 "URL elicitation required"
error nor `notifications/elicitation/complete`; a server asks for a URL visit with an `input_required`
question, and the client's accepting retry gets the result once the visit is done. A parked call bridges to
that: an upstream's -32042 becomes that question, and once the client accepts, the call is made again (if it
is answered -32042 once more, the user is not done yet: the retry waits for the upstream's completion
notification first, at most `timeout`). An upstream's URL elicitation request is a question like any other;
its later completion notification has no 2026-07-28 client to go to: the accepting retry's result says it.

Either way a question unanswered within `timeout` goes back to the upstream as an error that says so, a
decline or cancel goes back as that decline or cancel, and each relayed request leaves an audit record
(`elicitation:<server>` / `sampling:<server>`, its outcome, the action; never the answer's content).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import anyio
import anyio.abc
import mcp_types as types
from mcp import MCPError
from mcp.server.context import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.shared.exceptions import NoBackChannelError
from mcp.shared.message import ServerMessageMetadata
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..errors import UpstreamError
from ..relay import InputAnswer, InputRequest, capability_of, refusal, relaying
from ..state import RequestState
from ..tool_call import ToolCall
from .aggregate import UrlElicitationError
from .aggregate import state_of as _state

if TYPE_CHECKING:
    from ..host import GatewayHost

logger = logging.getLogger(__name__)
CallResult = types.CallToolResult | types.InputRequiredResult
R = TypeVar("R", types.CallToolResult, types.ReadResourceResult, types.GetPromptResult)
Resumable = types.CallToolRequestParams | types.ReadResourceRequestParams | types.GetPromptRequestParams
PARKED_TTL = 600.0  # seconds a parked call's outcome waits for a client that never retries
MAX_URL_ELICITATIONS = 10_000  # accepted URL elicitations awaiting completion that the gateway remembers
URL_ROUNDS = 3  # tries of a 2026-07-28 client's call that its upstream answers -32042 (see the docstring)


def _timed_out(kind: str, seconds: float) -> types.ErrorData:
    # not REQUEST_TIMEOUT (-32001): the upstream's call did not time out, and would be reported as if it had
    message = f"the client did not answer the {kind} request within {seconds:g} s"
    return types.ErrorData(code=INTERNAL_ERROR, message=message)


class Relays:
    """The gateway's relays: binds one to each downstream request that may be asked for input (`tools/call`,
    `resources/read`, `prompts/get`) and holds parked 2026-07-28 calls."""

    def __init__(self, gateway: GatewayHost) -> None:
        self.gateway = gateway
        self._parked: dict[str, Parked[Any]] = {}
        # (server, elicitationId) of each URL elicitation a handshake-era client accepted: its session, so the
        # upstream's `notifications/elicitation/complete` reaches that client and no other; or, for a parked
        # call waiting to try again (`Parked`), the event its completion sets
        self._url_elicitations: dict[tuple[str, str], ServerSession | anyio.Event] = {}
        self._tasks: anyio.abc.TaskGroup | None = None

    @property
    def timeout(self) -> float:
        """Seconds a client has to answer one question (`client_request_timeout`, live on reload)."""
        return self.gateway.config.client_request_timeout

    async def run(self) -> None:
        """Hold the task group parked calls run in (the gateway's lifespan runs this)."""
        async with anyio.create_task_group() as tg:
            self._tasks = tg
            try:
                await anyio.sleep_forever()
            finally:
                self._tasks = None

    async def serve(
        self, ctx: ServerRequestContext[Any], params: Resumable, call: Callable[[], Awaitable[R]], item: str
    ) -> R | types.InputRequiredResult:
        """Run `call` (the pipeline's tool call, read or get of `item`) with the relay this client can be
        reached through; a retry must name the same `item` as the request that got its handle."""
        state = _state(ctx)
        declared = ctx.session.client_capabilities
        if declared is None or (declared.elicitation is None and declared.sampling is None):
            with relaying(None):
                return await call()
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            with relaying(SessionRelay(self, ctx, state, declared)):
                return await call()
        if params.request_state is not None:
            # the handle names a call of this item: its outcome is of this request's result type
            return cast("R | types.InputRequiredResult", await self._resume(state, params, item))
        if self._tasks is None:  # no lifespan running parked calls: the client gets errors, not a hang
            with relaying(None):
                return await call()
        self._expire()
        parked: Parked[R] = Parked(self, state, declared, item)
        self._parked[parked.handle] = parked
        self._tasks.start_soon(parked.run, call)
        try:
            return await parked.next_outcome()
        except anyio.get_cancelled_exc_class():
            # The client gave up on its request before it was asked anything: nobody holds the handle, so no
            # retry can come for this call; stop it (the upstream hears of it as of any cancelled call).
            if not parked.asked:
                parked.cancel()
            raise

    async def _resume(self, state: RequestState, params: Resumable, item: str) -> Any:
        self._expire()
        parked = self._parked.get(params.request_state or "")
        if parked is None or _key(parked.state) != _key(state) or parked.item != item:
            raise MCPError(code=INVALID_PARAMS, message="unknown or expired requestState")
        parked.answer(params.input_responses or {})
        return await parked.next_outcome()

    def _expire(self) -> None:
        now = time.monotonic()
        for handle in [h for h, p in self._parked.items() if p.done_at is not None and now - p.done_at > PARKED_TTL]:
            del self._parked[handle]

    def await_completion(self, server: str, elicitation_id: str, waiter: ServerSession | anyio.Event) -> None:
        """Remember who waits for URL elicitation `elicitation_id` of `server` to complete: the session of the
        client that accepted it, or a parked call's event (bounded: oldest forgotten)."""
        if len(self._url_elicitations) >= MAX_URL_ELICITATIONS:
            del self._url_elicitations[next(iter(self._url_elicitations))]
        self._url_elicitations[(server, elicitation_id)] = waiter

    def completed(self, server: str, elicitation_id: str) -> None:
        """Upstream `server` says its URL elicitation `elicitation_id` is complete: tell who waits for it
        (once); an id the gateway did not relay is dropped."""
        waiter = self._url_elicitations.pop((server, elicitation_id), None)
        if isinstance(waiter, anyio.Event):
            waiter.set()
        elif waiter is not None and self._tasks is not None:
            self._tasks.start_soon(_tell_completed, waiter, elicitation_id)

    def forget_completion(self, server: str, elicitation_id: str) -> None:
        self._url_elicitations.pop((server, elicitation_id), None)

    def forget(self, parked: Parked[Any]) -> None:
        self._parked.pop(parked.handle, None)

    async def audit(self, state: RequestState, server: str, request: InputRequest, answer: InputAnswer) -> None:
        """One audit record per relayed request: who, which upstream, what became of it (not the content)."""
        kind = capability_of(request)
        details: dict[str, Any] = {}
        error = None
        if isinstance(answer, types.ErrorData):
            error = UpstreamError(f"{kind} request of '{server}' not answered: {answer.message}")
        elif isinstance(answer, types.ElicitResult):
            details["action"] = answer.action
        else:
            details["model"] = answer.model
        method = "elicitation/create" if kind == "elicitation" else "sampling/createMessage"
        call = ToolCall(f"{kind}:{server}", details, state, "mcp", method=method, server=server)
        await self.gateway.pipeline.record_call(call, error)


class SessionRelay:
    """A handshake-era client: the request goes on its stream, related to its `tools/call`."""

    def __init__(
        self, relays: Relays, ctx: ServerRequestContext[Any], state: RequestState, declared: types.ClientCapabilities
    ) -> None:
        self.relays, self.ctx, self.state, self.declared = relays, ctx, state, declared

    async def ask(self, server: str, request: InputRequest) -> InputAnswer:
        answer = await self._ask(request)
        await self.relays.audit(self.state, server, request, answer)
        if isinstance(request.params, types.ElicitRequestURLParams) and isinstance(answer, types.ElicitResult):
            elicitation_id = request.params.elicitation_id
            if answer.action == "accept" and elicitation_id:
                self.relays.await_completion(server, elicitation_id, self.ctx.session)
        return answer

    async def _ask(self, request: InputRequest) -> InputAnswer:
        kind = capability_of(request)
        missing = unsupported(request, self.declared)
        if missing is not None:
            return refusal(missing)
        timeout = self.relays.timeout
        try:
            with anyio.fail_after(timeout):
                return await self._send(request, _result_type(request))
        except TimeoutError:
            return _timed_out(kind, timeout)
        except MCPError as exc:
            return exc.error

    async def _send(self, request: InputRequest, result: type[InputAnswer]) -> InputAnswer:
        """On the stream of the `tools/call`, or (the endpoint answers POSTs with plain JSON) on the session's
        own GET stream: the session is this client's either way."""
        session = self.ctx.session
        try:
            related = ServerMessageMetadata(related_request_id=self.ctx.request_id)
            return await session.send_request(request, result, metadata=related)
        except NoBackChannelError:
            return await session.send_request(request, result)


@dataclass
class _Question:
    key: str
    request: InputRequest
    answered: anyio.Event = field(default_factory=anyio.Event)
    answer: InputAnswer | None = None


class Parked(Generic[R]):
    """A 2026-07-28 client's call whose upstream asked for input: it runs on, questions go out as
    `input_required` results, answers come back in the client's retries."""

    def __init__(self, relays: Relays, state: RequestState, declared: types.ClientCapabilities, item: str) -> None:
        self.relays, self.state, self.declared, self.item = relays, state, declared, item
        self.handle = secrets.token_urlsafe(24)
        self.done_at: float | None = None
        self.asked = False  # whether a question (and with it the handle) went out to the client
        self._scope = anyio.CancelScope()
        self._result: R | None = None
        self._failure: BaseException | None = None
        self._questions: dict[str, _Question] = {}
        self._changed = anyio.Event()
        self._count = 0

    async def run(self, call: Callable[[], Awaitable[R]]) -> None:
        try:
            with self._scope, relaying(self):
                self._result = await self._past_url_elicitations(call)
        except Exception as exc:  # noqa: BLE001 - handed to the client's next retry, like a result
            self._failure = exc
        finally:
            self.done_at = time.monotonic()
            self._signal()

    def cancel(self) -> None:
        """Stop the call; its handle is forgotten."""
        self._scope.cancel()
        self.relays.forget(self)

    async def _past_url_elicitations(self, call: Callable[[], Awaitable[R]]) -> R:
        """`call`, with an upstream's -32042 answered the revision's way (see the module docstring); the
        error as it is when the client cannot take URL elicitation or does not accept, or after `URL_ROUNDS`."""
        completed = anyio.Event()  # set by the upstream's completion of any URL elicitation asked here
        awaited: list[tuple[str, str]] = []
        try:
            attempt = 0
            while True:
                attempt += 1
                try:
                    return await call()
                except UrlElicitationError as exc:
                    visits = _url_elicitations(exc)
                    requests = [types.ElicitRequest(params=visit) for visit in visits]
                    if attempt == URL_ROUNDS or not requests or unsupported(requests[0], self.declared):
                        raise
                    for visit in visits:
                        if visit.elicitation_id:
                            awaited.append((exc.server, visit.elicitation_id))
                            self.relays.await_completion(exc.server, visit.elicitation_id, completed)
                    if attempt == 1 and not await self._accepted(exc.server, requests):
                        raise
                    if attempt > 1:  # the user was not done on the first try: wait for the upstream to say so
                        with anyio.move_on_after(self.relays.timeout):
                            await completed.wait()
        finally:
            for server, elicitation_id in awaited:
                self.relays.forget_completion(server, elicitation_id)

    async def _accepted(self, server: str, requests: list[types.ElicitRequest]) -> bool:
        """Whether the client accepts to visit every URL (each asked as a question of this call)."""
        for request in requests:
            answer = await self.ask(server, request)
            if not isinstance(answer, types.ElicitResult) or answer.action != "accept":
                return False
        return True

    async def ask(self, server: str, request: InputRequest) -> InputAnswer:
        kind = capability_of(request)
        missing = unsupported(request, self.declared)
        if missing is not None:
            answer: InputAnswer = refusal(missing)
        else:
            self._count += 1
            question = _Question(f"{kind}-{self._count}", request)
            self._questions[question.key] = question
            self._signal()
            timeout = self.relays.timeout
            with anyio.move_on_after(timeout):
                await question.answered.wait()
            self._questions.pop(question.key, None)
            answer = question.answer if question.answer is not None else _timed_out(kind, timeout)
        await self.relays.audit(self.state, server, request, answer)
        return answer

    def answer(self, responses: types.InputResponses) -> None:
        for key, response in responses.items():
            question = self._questions.get(key)
            if question is not None and not question.answered.is_set():
                question.answer = _answer_for(question.request, response)
                question.answered.set()

    async def next_outcome(self) -> R | types.InputRequiredResult:
        """The result once the call ends, or the questions it waits on; whichever comes first."""
        while True:
            if self.done_at is not None:
                self.relays.forget(self)
                if self._failure is not None:
                    raise self._failure
                return cast(R, self._result)  # set whenever `run` ended without failure
            waiting = {k: q.request for k, q in self._questions.items() if not q.answered.is_set()}
            if waiting:
                self.asked = True
                return types.InputRequiredResult(input_requests=waiting, request_state=self.handle)
            changed = self._changed
            await changed.wait()

    def _signal(self) -> None:
        changed, self._changed = self._changed, anyio.Event()
        changed.set()


async def _tell_completed(session: ServerSession, elicitation_id: str) -> None:
    notification = types.ElicitCompleteNotification(
        params=types.ElicitCompleteNotificationParams(elicitation_id=elicitation_id)
    )
    try:
        await session.send_notification(notification)
    except Exception as exc:  # noqa: BLE001 - the client went away since: nobody left to tell
        logger.info("elicitation %s completed, but its client is gone: %s", elicitation_id, exc)


def _url_elicitations(exc: UrlElicitationError) -> list[types.ElicitRequestURLParams]:
    """The URL elicitations of an upstream's -32042; empty when one is not a URL elicitation the SDK reads."""
    visits = []
    for item in (exc.data or {}).get("elicitations") or ():
        try:
            visits.append(types.ElicitRequestURLParams.model_validate(item, by_name=False))
        except ValueError:
            return []
    return visits


def _result_type(request: InputRequest) -> type[types.ElicitResult | types.CreateMessageResult]:
    return types.ElicitResult if isinstance(request, types.ElicitRequest) else types.CreateMessageResult


def _answer_for(request: InputRequest, response: Any) -> InputAnswer:
    """The client's response as the type its question asks for (a mismatched one is an error)."""
    wanted = _result_type(request)
    if isinstance(response, wanted):
        return response
    try:
        data = response.model_dump(by_alias=True, exclude_none=True) if hasattr(response, "model_dump") else response
        return wanted.model_validate(data, by_name=False)
    except ValueError:
        return refusal(f"the client's answer is not a valid {capability_of(request)} result")


def unsupported(request: InputRequest, declared: types.ClientCapabilities) -> str | None:
    """Why the client cannot take `request` (a capability, or an elicitation mode, it did not declare)."""
    lacks = "the client that caused this call did not declare"
    if isinstance(request, types.CreateMessageRequest):
        return None if declared.sampling is not None else f"{lacks} the sampling capability"
    elicitation = declared.elicitation
    if elicitation is None:
        return f"{lacks} the elicitation capability"
    if isinstance(request.params, types.ElicitRequestURLParams):
        return None if elicitation.url is not None else f"{lacks} URL mode elicitation"
    form = elicitation.form is not None or elicitation.url is None  # `elicitation: {}` means form mode
    return None if form else f"{lacks} form mode elicitation"


def _key(state: RequestState) -> str | None:
    return state.principal.key_id if state.principal is not None else None
