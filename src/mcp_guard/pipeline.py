"""The one tool-call pipeline. Every entry point (MCP endpoint, REST, Code Mode, agent mode) calls
`Pipeline.call`, and nothing else enforces anything:

    well-formed? → resolve → visible? → arguments valid? → confirmed? → admit (rate limit, then budget
            reserve) → upstream call → audit → settle

Resource reads, prompt gets and completions go through `Pipeline.use`: the same stages without the
tool-only ones (resolve → visible? → admit → upstream → audit → settle), on the same `ToolCall` record
(its `ref` a `ResourceRef` or `PromptRef`, its `method` the MCP method).

Each stage reads what the middlewares put on the `RequestState`; a stage whose field is empty is off. A
refusal is a `GatewayError` and is audited like a success, so the log shows every attempt.

The record is written before the budget is settled, and the budget's hold is named after the call: a
crash between the two leaves a hold that `mcp_guard.reconcile` settles as the record says, where the
other order would leave spend that no record explains. With the default `audit.durability: commit`, the
caller gets its answer only after both.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import anyio
import mcp_types as types

from .audit.record import AuditRecord, Outcome, caller_fields, outcome_of_refusal
from .catalog import Catalog, CatalogEntry
from .credentials.sessions import PerPrincipalUpstream
from .errors import (
    BadRequest,
    Cancelled,
    ClientInputUnavailable,
    GatewayError,
    MalformedInput,
    NotAllowed,
    NotFound,
    ServiceUnavailable,
    ToolNotFound,
    UpstreamError,
)
from .json_input import check_call, check_value, printable
from .names import SEPARATOR, PromptRef, ResourceRef, described, prefixed_readings
from .observability.observer import Observer
from .relay import Sampler, Unanswerable, bind_cause, relaying, unbind_cause, unbound
from .state import CallGuard, RequestState
from .tool_call import ToolCall
from .upstreams.base import Upstream

logger = logging.getLogger(__name__)
CANCELLED = Cancelled("The client cancelled the call before it was answered")
R = TypeVar("R")


EXECUTION_TOOL = "code-mode/executeToolCode"  # how a Code Mode execution appears in the audit log


@dataclass(slots=True)
class CallOutcome:
    call: ToolCall
    result: types.CallToolResult
    duration_ms: float


class ConfirmationCheck(Protocol):
    """The confirmation stage (`chat.confirmations.ConfirmationGate`): destructive tools run only when the
    call carries a valid confirmation id."""

    async def check(self, call: ToolCall, confirmation: str | None) -> None:
        """Pass, or raise `ConfirmationRequired` (409)."""
        ...


class Pipeline:
    def __init__(
        self,
        catalog: Catalog,
        upstreams: Mapping[str, Upstream],
        *,
        code_only: frozenset[str] = frozenset(),
        confirmations: ConfirmationCheck | None = None,
        observer: Observer | None = None,
        sampler: Sampler | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.catalog = catalog
        self.sampler = sampler  # answers upstreams' sampling the gateway fulfils itself (`relay.py`)
        self.clock = clock  # the audit records' time; the budget books at it (give both the same clock)
        self.upstreams = upstreams
        self.code_only = code_only  # servers whose tools only Code Mode programs may call
        self.confirmations = confirmations
        self.observer = observer or Observer()  # log line, metrics and spans of every call
        self.in_flight: dict[Upstream, int] = {}  # calls under way per upstream: a replaced one drains first

    async def call(
        self,
        state: RequestState,
        name: str,
        arguments: Any,
        *,
        entry_point: str = "mcp",
        mode: str = "manual",
        parent_id: str | None = None,
        confirmation: str | None = None,
    ) -> CallOutcome:
        """Run one tool call through every stage; raise `GatewayError` when it is refused or fails.

        `confirmation`: the `x-mcp-confirm` id the caller sent, for tools that need confirmation."""
        call = ToolCall(name, arguments, state, entry_point, mode, parent_id)
        tracing = self.observer.tracing
        if tracing is None:  # no span, not even a no-op one: a hook must cost nothing while tracing is off
            result = await self._governed(call, confirmation)
        else:
            with tracing.call_span(call):
                result = await self._governed(call, confirmation)
        return CallOutcome(call, result, _elapsed_ms(call))

    async def _governed(self, call: ToolCall, confirmation: str | None) -> types.CallToolResult:
        async with _Attempt(self, call) as attempt:
            _check_well_formed(call)
            result = attempt.result = await self._run(call, confirmation, attempt.admitted)
        return result

    async def _run(
        self, call: ToolCall, confirmation: str | None, admitted: list[tuple[CallGuard, Any]]
    ) -> types.CallToolResult:
        entry = call.tool = self._resolve(call)
        call.state.check_visible(entry.ref)
        if entry.ref.server in self.code_only and call.entry_point != "code":
            raise NotAllowed(
                f"Tool '{entry.ref}' is reachable only through Code Mode (executeToolCode)",
                extra={"tool": str(entry.ref)},
            )
        call.arguments = _as_arguments(call.arguments, entry)
        entry.validate_arguments(call.arguments)
        if self.confirmations is not None:  # before admission: a refused attempt spends no rate or budget
            await self.confirmations.check(call, confirmation)
        upstream = self.upstreams[entry.ref.server]
        callee = await as_caller(upstream, call.state)
        tracing = self.observer.tracing
        callee = tracing.traced_upstream(callee) if tracing is not None else callee
        return await self._admitted(call, admitted, upstream, callee.call, entry.ref.tool, call.arguments)

    async def use(
        self,
        state: RequestState,
        method: str,
        label: str,
        arguments: dict[str, Any],
        resolve: Callable[[], ResourceRef | PromptRef],
        invoke: Callable[[Upstream, Any], Awaitable[R]],
        *,
        entry_point: str = "mcp",
        mode: str = "manual",
        parent_id: str | None = None,
    ) -> R:
        """Read a resource, get a prompt or complete an argument (`method`) through the stages a tool call
        takes; `GatewayError` when refused or failed. `resolve` names what is used (or raises); `invoke`
        does it on its upstream. `label` is what the audit log shows (`resource:<uri>`, `prompt:<name>`);
        `parent_id` links the record to what made the use (a Code Mode execution), as for tool calls."""
        call = ToolCall(label, arguments, state, entry_point, mode, parent_id, method=method)
        tracing = self.observer.tracing
        if tracing is None:
            return await self._used(call, resolve, invoke)
        with tracing.call_span(call):
            return await self._used(call, resolve, invoke)

    async def _used(
        self,
        call: ToolCall,
        resolve: Callable[[], ResourceRef | PromptRef],
        invoke: Callable[[Upstream, Any], Awaitable[R]],
    ) -> R:
        async with _Attempt(self, call) as attempt:
            _check_well_formed(call)
            ref = call.item = resolve()
            if self.catalog.blocks(ref):
                raise NotAllowed(f"{described(ref)} is blocked", extra={ref.kind: str(ref)})
            call.state.check_visible(ref)
            upstream = self.upstreams.get(ref.server)
            if upstream is None:
                raise NotFound(f"Unknown server {ref.server!r} in {described(ref)}", extra={ref.kind: str(ref)})
            caller = await as_caller(upstream, call.state)
            result = await self._admitted(call, attempt.admitted, upstream, invoke, caller, ref)
        return result

    async def _admitted(
        self,
        call: ToolCall,
        admitted: list[tuple[CallGuard, Any]],
        upstream: Upstream,
        invoke: Callable[..., Awaitable[R]],
        *args: Any,
    ) -> R:
        """Admit (rate limit, then budget reserve) into `admitted`, then run `invoke(*args)` on `upstream`:
        the stages every use of an upstream shares. The caller settles `admitted` once the call is recorded
        (`_settle_all`)."""
        guards: list[CallGuard] = [g for g in (call.state.rate_limiter, call.state.budget) if g is not None]
        tracing = self.observer.tracing
        if tracing is not None and tracing.full:  # the same stages, each in a span of its own
            guards = [tracing.traced_guard(g) for g in guards]
        for guard in guards:
            admitted.append((guard, await _admit(guard, call)))
        in_flight = self.in_flight
        in_flight[upstream] = in_flight.get(upstream, 0) + 1
        cause = bind_cause(call, self.sampler) if self.sampler is not None else None
        try:
            path = _path_without_client(call) if unbound() else None
            return await invoke(*args) if path is None else await _without_client(path, invoke, args)
        finally:
            if cause is not None:
                unbind_cause(cause)
            if in_flight[upstream] == 1:
                del in_flight[upstream]
            else:
                in_flight[upstream] -= 1

    def _resolve(self, call: ToolCall) -> CatalogEntry:
        entry = self.catalog.resolve(call.name)
        if entry is None:
            raise self._unresolved(call.name)
        return entry

    def _unresolved(self, name: str) -> GatewayError:
        """Unknown tool, unless the name is ambiguous or names a server that has never been reachable: then
        say that."""
        readings = self.catalog.bifrost_readings(name)
        if len(readings) > 1:
            meant = " or ".join(f"'{ref}'" for ref in readings)
            return BadRequest(f"Tool name {name!r} is ambiguous: it could be {meant}; name it as server/tool")
        connected = self.catalog.servers()
        for server in _servers_named(name, self.upstreams):
            if server not in connected:
                status = self.upstreams[server].status
                return UpstreamError(
                    f"Upstream '{server}' is {status.state} ({status.last_error or 'no connection yet'}); "
                    f"its tools are unavailable"
                )
        return ToolNotFound(f"Unknown tool {name!r}", extra={"tool": name})

    async def record_execution(
        self,
        state: RequestState,
        execution_id: str,
        arguments: dict[str, Any],
        *,
        error: str | None,
        started: float,
        entry_point: str,
        parent_id: str | None = None,
    ) -> None:
        """Audit one Code Mode execution; its inner calls carry `execution_id` as their parent."""
        call = ToolCall(
            EXECUTION_TOOL, arguments, state, entry_point, "code", parent_id, id=execution_id, started=started
        )
        sink = state.audit
        self.observer.execution_finished(error is None)
        if sink is not None:
            record = _audit_record(call, None, None)
            record.outcome = "tool_error" if error else "ok"
            record.error = error
            await sink.record(record)

    async def record_call(self, call: ToolCall, error: GatewayError | None = None) -> None:
        """Audit a call made outside the stages, like any other: a chat endpoint's model turn (`call.name`
        `llm/<provider>/<model>`, its cost in `call.cost`), so cost analytics sum it with tool calls."""
        await self._audit(call, None, error)

    async def _finish(self, call: ToolCall, result: types.CallToolResult | None, error: GatewayError | None) -> None:
        """Audit the call, then report it (log line, metrics, span attributes)."""
        tracing = self.observer.tracing
        if tracing is None or not tracing.full:
            await self._audit(call, result, error)
        else:
            with tracing.stage("mcp_guard.audit"):
                await self._audit(call, result, error)
        self.observer.call_finished(call, outcome_of(result, error), error)

    async def _audit(self, call: ToolCall, result: types.CallToolResult | None, error: GatewayError | None) -> None:
        if call.ended is None:
            call.ended = self.clock()
        if call.refund_if_failed and outcome_of(result, error) != "ok":
            call.cost = 0.0  # refunded when settled, right after this record
        sink = call.state.audit
        if sink is not None:
            await sink.record(_audit_record(call, result, error))


class _Attempt:
    """One call's record and settlement around its stages, whatever way they end:

        async with _Attempt(pipeline, call) as attempt:
            ... admit into `attempt.admitted`, call the upstream, set `attempt.result` (tools) ...

    A refusal (`GatewayError`) is audited and re-raised; a cancellation is recorded and settled as failed;
    otherwise the answer is audited. The admitted guards are settled after the
    record (see the module docstring): as succeeded only when the record was written and the tool did not
    report an error."""

    __slots__ = ("admitted", "call", "pipeline", "result", "succeeded")

    def __init__(self, pipeline: Pipeline, call: ToolCall) -> None:
        self.pipeline = pipeline
        self.call = call
        self.admitted: list[tuple[CallGuard, Any]] = []
        self.result: types.CallToolResult | None = None  # a tool's result; other methods leave it None
        self.succeeded = False

    async def __aenter__(self) -> _Attempt:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: Any) -> None:
        pipeline, call = self.pipeline, self.call
        try:
            if error is None:
                await pipeline._finish(call, self.result, None)
                self.succeeded = self.result is None or not self.result.is_error
            elif isinstance(error, GatewayError):
                await pipeline._finish(call, None, error)
            elif isinstance(error, anyio.get_cancelled_exc_class()):
                # The client cancelled the call (or went away): recorded as cancelled and settled as failed
                # (the reservation refunded), shielded, since every `await` in a cancelled scope is cancelled
                with anyio.CancelScope(shield=True):
                    await pipeline._finish(call, None, CANCELLED)
                    await _settle_all(call, self.admitted, False)
                self.admitted.clear()
        finally:
            await _settle_all(call, self.admitted, self.succeeded)


async def _admit(guard: CallGuard, call: ToolCall) -> Any:
    """A guard refuses with a `GatewayError`; any other failure (its storage is down) refuses too."""
    try:
        return await guard.admit(call)
    except GatewayError:
        raise
    except Exception:
        logger.exception("%s failed to admit a call to %r; refusing it", type(guard).__name__, call.name)
        raise ServiceUnavailable(f"{type(guard).__name__} is unavailable; the call was refused") from None


async def _settle_all(call: ToolCall, admitted: list[tuple[CallGuard, Any]], succeeded: bool) -> None:
    """Settle every guard that admitted `call`, the last admitted first. A tool's `is_error` result counts
    as failed (its reservation is refunded)."""
    for guard, token in reversed(admitted):
        await _settle(guard, call, token, succeeded)


async def _settle(guard: CallGuard, call: ToolCall, token: Any, succeeded: bool) -> None:
    """A settlement failure must not replace the tool's result: log it (the guard's TTLs reclaim holds)."""
    try:
        await guard.settle(call, token, succeeded)
    except Exception:
        logger.exception("%s failed to settle call %s", type(guard).__name__, call.id)


async def as_caller(upstream: Upstream, state: RequestState) -> Upstream:
    """The upstream a call goes to: the shared one, or for a server that acts as each user, the caller's
    own session (`credentials/sessions.py`; `CredentialRequired` when they have linked no credential)."""
    if isinstance(upstream, PerPrincipalUpstream):
        return await upstream.session(state)
    return upstream


_PATHS = {"rest": "a REST call", "code": "a Code Mode program", "agent": "an agent-mode tool call"}


def _path_without_client(call: ToolCall) -> str | None:
    """The path of a call that no MCP client could answer an input request for; None for the MCP endpoint's
    calls, which bind their client's relay (or its refusal to relay) themselves."""
    if call.entry_point == "mcp":
        return "a completion request" if call.method == "completion/complete" else None
    return _PATHS.get(call.entry_point, f"a call from {call.entry_point!r}")


async def _without_client(path: str, invoke: Callable[..., Awaitable[R]], args: tuple[Any, ...]) -> R:
    """`invoke(*args)`, failing with `ClientInputUnavailable` if the upstream asked for input on the way:
    that, not the upstream's reading of the refusal, is what the caller must learn (and the audit log)."""
    relay = Unanswerable(path)
    try:
        with relaying(relay):
            result = await invoke(*args)
    except GatewayError:
        if relay.asked is None:
            raise
    else:
        if relay.asked is None:
            return result
    raise ClientInputUnavailable(relay.message(), extra={"asked": relay.asked})


def _servers_named(name: str, upstreams: Mapping[str, Upstream]) -> list[str]:
    """The configured servers a tool name can refer to, in any of the accepted forms."""
    named = [name.split("/", 1)[0] if "/" in name else name.split(SEPARATOR, 1)[0]]
    named += [server for server, _ in prefixed_readings(name, upstreams)]
    return [server for server in named if server in upstreams]


def _check_well_formed(call: ToolCall) -> None:
    """Before anything else looks at them: a name and arguments every upstream (and the audit log) can take.
    A refused call is audited with its name escaped and without its arguments, which may be what broke."""
    try:
        if call.method == "tools/call":
            check_call(call.name, call.arguments)
        else:  # a resource URI or prompt name may be long: its text is checked, its length left to the upstream
            check_value([call.name, call.arguments], f"the {call.method} request")
    except MalformedInput:
        call.name = printable(call.name) if isinstance(call.name, str) else repr(call.name)
        call.arguments = {}
        raise


def _as_arguments(arguments: Any, entry: CatalogEntry) -> dict[str, Any]:
    if arguments is None:
        return {}
    if not isinstance(arguments, dict):
        raise BadRequest(f"Arguments for tool '{entry.ref}' must be a JSON object, got {type(arguments).__name__}")
    return arguments


def _elapsed_ms(call: ToolCall) -> float:
    return (time.perf_counter() - call.started) * 1000.0


def outcome_of(result: types.CallToolResult | None, error: GatewayError | None) -> Outcome:
    """denied (a 4xx refusal), failed (5xx), tool_error (the tool said `isError`) or ok."""
    if error is not None:
        return outcome_of_refusal(error)
    return "tool_error" if result is not None and result.is_error else "ok"


def _audit_record(call: ToolCall, result: types.CallToolResult | None, error: GatewayError | None) -> AuditRecord:
    state = call.state
    server, tool = call.target()
    outcome = outcome_of(result, error)
    denied = outcome == "denied"
    return AuditRecord(
        time=time.time() if call.ended is None else call.ended,
        request_id=state.request_id,
        call_id=call.id,
        parent_id=call.parent_id,
        server=server,
        tool=tool,
        decision="denied" if denied else "allowed",
        outcome=outcome,
        **caller_fields(state.principal, state.user),
        arguments=call.arguments if isinstance(call.arguments, dict) else {},
        reason=error.reason if error else None,
        error=error.message if error else None,
        cost=call.cost,
        duration_ms=_elapsed_ms(call),
        mode=call.mode,
        entry=call.entry_point,
        virtual_server=state.virtual_server,
    )
