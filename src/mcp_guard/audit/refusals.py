"""`RefusalLog`: one audit record for each request the middlewares refuse before any tool call is made.

A request refused at the door (no key; an unknown, inactive or expired key; malformed credentials or filter
headers; the per-key request limit, `requests_per_key`; a key that is not an admin key on an admin route)
leaves a record like a refused tool call's: decision and outcome `denied` (`allowed` and `failed` for a 503,
a storage the door needs being down, as for calls), the response's reason code and message, entry
`request`, and the method and path as its arguments. It names what is known of who tried: the key's
principal when the key is known, the presented key's fingerprint (`auth.keys.fingerprint`, never the key),
the client address and, where it is cheap to know, the tool the request names (`named_tool`).

A request without a usable key costs its sender nothing, so those records are capped per source (client
address) and in total (`audit.refusals`, `SourceCap`): past the cap a refusal is counted instead of written,
the source's next record carries the count (`suppressed`), and a log line reports what was held back every
`report_every` seconds. Refusals of a valid key (its request limit) are not capped: like its refused tool
calls, they are that key's to answer for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio

from ..asgi import Scope, header, read_body
from ..errors import GatewayError
from ..json_input import MAX_NAME_LENGTH, parse_body, printable
from ..ratelimit.rate import parse_rate
from ..state import AuditSink, RequestState, new_id
from .config import RefusalSettings
from .record import AuditRecord, caller_fields, outcome_of_refusal
from .source_cap import SourceCap

logger = logging.getLogger(__name__)

ENTRY = "request"  # the `entry` of a refusal at the door
BODY_LIMIT = 64 * 1024  # a refused request's body is read for its tool name only up to this size...
BODY_WAIT = 1.0  # ...and for at most this many seconds
_PATH_LIMIT = 1024


class RefusalLog:
    """Writes refusals through `audit()`, the audit log in use (None: nothing is recorded, as for calls)."""

    def __init__(
        self,
        audit: Callable[[], AuditSink | None],
        settings: RefusalSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._audit = audit
        self._clock = clock
        self.settings = settings or RefusalSettings()
        self.cap = self._cap(self.settings)

    def reconfigure(self, settings: RefusalSettings) -> None:
        """Cap by `settings` from now on (a reloaded configuration); what the old cap held back is reported."""
        self.report()
        self.settings, self.cap = settings, self._cap(settings)

    def _cap(self, settings: RefusalSettings) -> SourceCap:
        per_source, total = parse_rate(settings.per_source), parse_rate(settings.total)
        return SourceCap(per_source, total, max_sources=settings.sources, clock=self._clock)

    async def refused(self, scope: Scope, error: GatewayError, receive: Any = None) -> None:
        """Record the refusal of this request with `error` (before its response is sent). `receive` lets
        a small body be read for the tool it names; without it only the headers are looked at."""
        sink = self._audit()
        if sink is None:
            return
        try:
            await self._record(sink, scope, error, receive)
        except Exception:  # the refusal is answered whatever happens here; the log says what went wrong
            logger.exception("Could not record the refusal of %r (%s)", scope.get("path"), error.reason)

    async def _record(self, sink: AuditSink, scope: Scope, error: GatewayError, receive: Any) -> None:
        state = RequestState.from_scope(scope)
        client = client_address(scope)
        suppressed = 0
        if state.principal is None:  # no usable key: capped per source
            admitted = self.cap.admit(client or "unknown")
            if admitted is None:
                return
            suppressed = admitted
        tool = await named_tool(scope, receive)
        await sink.record(refusal_record(scope, error, tool=tool, client=client, suppressed=suppressed))

    def report(self) -> None:
        """Log what the cap held back since the last report, if anything."""
        report = self.cap.take_report()
        if report.suppressed:
            busiest = ", ".join(f"{source} ({count})" for source, count in report.busiest)
            logger.warning(
                "Audit: %d refused requests from %d sources were counted, not recorded (audit.refusals cap); "
                "most from %s. Each source's next record carries its count in `suppressed`.",
                report.suppressed,
                report.sources,
                busiest,
            )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[RefusalLog]:
        """Report every `report_every` seconds, and once more on exit."""
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._report_forever)
                try:
                    yield self
                finally:
                    group.cancel_scope.cancel()
        finally:
            self.report()

    async def _report_forever(self) -> None:
        while True:
            await anyio.sleep(self.settings.report_every)
            self.report()


def refusal_record(
    scope: Scope, error: GatewayError, *, tool: str | None = None, client: str | None = None, suppressed: int = 0
) -> AuditRecord:
    """The audit record of a request refused with `error` at the door."""
    state = RequestState.from_scope(scope)
    server, _, name = (tool or "").partition("/")
    if not name:  # an exposed name (`calc__add`) or nothing: no server to split off
        server, name = "", tool or ""
    outcome = outcome_of_refusal(error)
    return AuditRecord(
        time=time.time(),
        request_id=state.request_id,
        call_id=new_id(),
        server=server,
        tool=name,
        decision="denied" if outcome == "denied" else "allowed",
        outcome=outcome,
        **caller_fields(state.principal or state.refused_key, state.user),
        arguments=_request_of(scope),
        reason=error.reason,
        error=error.message,
        mode="manual",
        entry=ENTRY,
        client=client,
        key_fingerprint=state.key_fingerprint,
        suppressed=suppressed,
    )


def client_address(scope: Scope) -> str | None:
    """The client's address as the ASGI server reports it (behind a proxy, the server's trusted-proxy
    setting, e.g. uvicorn's `--forwarded-allow-ips`, decides whether that is the proxy or the client)."""
    client = scope.get("client")
    return str(client[0]) if client else None


async def named_tool(scope: Scope, receive: Any = None) -> str | None:
    """The tool a refused request names, where that is cheap to know: MCP's `Mcp-Name` header of a
    `tools/call`, else a small JSON body (MCP `tools/call`, an OpenAI chat or Responses tool call). The
    body is read only up to `BODY_LIMIT` and `BODY_WAIT`: a refused request cannot make the gateway buffer
    or wait for it. The name is stored as sent (escaped, shortened), not resolved."""
    if (header(scope, b"mcp-method") or "").strip() == "tools/call":
        named = _name(header(scope, b"mcp-name"))
        if named is not None:
            return named
    if receive is None or scope["type"] != "http" or scope.get("method") != "POST":
        return None
    declared = header(scope, b"content-length")
    if declared is not None and (not declared.strip().isdigit() or int(declared) > BODY_LIMIT):
        return None
    with anyio.move_on_after(BODY_WAIT):
        try:
            return _name(_tool_in(parse_body(await read_body(receive, BODY_LIMIT))))
        except GatewayError:  # too large, cut off, not JSON: nothing named
            return None
    return None


def _tool_in(body: Any) -> Any:
    if not isinstance(body, dict):
        return None
    if body.get("method") == "tools/call":  # MCP JSON-RPC
        params = body.get("params")
        return params.get("name") if isinstance(params, dict) else None
    function = body.get("function")
    if isinstance(function, dict):  # OpenAI chat tool call (`/tool/execute`)
        return function.get("name")
    if body.get("type") == "function_call":  # OpenAI Responses (`/tool/execute?format=responses`)
        return body.get("name")
    return None


def _name(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return printable(value.strip())[:MAX_NAME_LENGTH]


def _request_of(scope: Scope) -> dict[str, Any]:
    method = scope.get("method") or scope["type"].upper()  # a websocket handshake has no method
    return {"method": method, "path": printable(str(scope.get("path", "")))[:_PATH_LIMIT]}
