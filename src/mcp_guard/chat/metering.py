"""One governed model turn, the chat endpoint's counterpart of the tool-call pipeline:

    token limit (estimated prompt) → budget reserve (estimated cost) → provider call
        → settle (actual usage: tokens and cost) → audit

Each stage is on when the request has what it needs, as for tool calls: token limits when
RateLimitMiddleware attached a limiter, budgets when BudgetMiddleware attached the budget guard, audit
when AuditMiddleware attached the log. The audit record has server `llm` and tool `<provider>/<model>`,
so `/analytics/costs` sums model spend with tool spend; tool calls a turn leads to name it as parent.
A turn made for something else (sampling for an upstream's tool call: `sampling.py`) names its own entry
point and parent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from ..budget.guard import BudgetGuard
from ..errors import GatewayError
from ..state import RequestState
from ..tool_call import ToolCall
from .providers import Route
from .spend import Hold, LLMSpend, tiers_of
from .tokens import Usage, estimate_tokens

if TYPE_CHECKING:
    from ..host import GatewayHost

LLM_SERVER = "llm"  # the `server` of model turns in audit records


@dataclass(slots=True)
class TurnMeter:
    """What one model turn has used; a streaming relay fills it in as chunks arrive."""

    call: ToolCall  # the audit identity of the turn: `call.id` is the parent of the tool calls it leads to
    prompt_estimate: int
    output_bound: int
    usage: Usage | None = None  # as the provider reported it
    streamed_chars: int = 0  # completion text seen, for a provider that reports no usage
    failure: GatewayError | None = None  # a failure after a stream started (it cannot propagate any more)

    def used(self) -> Usage | None:
        """Tokens to charge: the reported usage, else an estimate once anything came back."""
        if self.usage is not None:
            return self.usage
        if self.streamed_chars:
            return Usage(self.prompt_estimate, estimate_tokens("x" * self.streamed_chars))
        return None


class Metering:
    """Model turns of one chat request."""

    def __init__(
        self,
        gateway: GatewayHost,
        state: RequestState,
        route: Route,
        *,
        mode: str,
        output_bound: int,
        entry_point: str = "chat",
        parent_id: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        self.gateway = gateway
        self.state = state
        self.route = route
        self.mode = mode
        self.output_bound = output_bound
        self.entry_point = entry_point  # of the turns' audit records, with their parent and `context` arguments
        self.parent_id = parent_id
        self.context = context or {}
        self.turns = 0
        self._client = gateway.chat.client(route)
        self._tokens = gateway.chat.tokens if state.rate_limiter is not None else None
        self._spend = LLMSpend(state.budget) if isinstance(state.budget, BudgetGuard) else None
        self._price = route.config.price(route.model)

    async def complete(self, body: dict[str, Any]) -> tuple[dict[str, Any], TurnMeter]:
        """One non-streaming turn: the provider's answer and its meter."""
        async with self.turn(body) as meter:
            answer = await self._client.complete(body)
            meter.usage = Usage.reported(answer.get("usage")) or Usage(
                meter.prompt_estimate, estimate_tokens(answer.get("choices", ""))
            )
        return answer, meter

    @asynccontextmanager
    async def stream(self, body: dict[str, Any]) -> AsyncIterator[tuple[TurnMeter, AsyncIterator[str]]]:
        """One streaming turn: its meter and the provider's SSE lines (the relay fills in the meter)."""
        async with self.turn(body) as meter, self._client.stream(body) as lines:
            yield meter, lines

    @asynccontextmanager
    async def turn(self, body: dict[str, Any]) -> AsyncIterator[TurnMeter]:
        """Admit a turn, let the caller run it, then settle and audit it whatever happened."""
        self.turns += 1
        meter = self._meter(body)
        with self.gateway.observer.model_span(self.route.provider, self.route.model):
            hold = await self._admit(meter)
            error: GatewayError | None = None
            try:
                yield meter
            except GatewayError as exc:
                error = exc
                raise
            finally:
                with anyio.CancelScope(shield=True):  # the tokens were used even if the client has gone
                    await self._settle(meter, hold, error)

    def _meter(self, body: dict[str, Any]) -> TurnMeter:
        prompt = estimate_tokens([body.get("messages"), body.get("tools")])
        arguments = {
            **self.context,
            "turn": self.turns,
            "estimated_prompt_tokens": prompt,
            "max_output_tokens": self.output_bound,
        }
        name = f"{LLM_SERVER}/{self.route.ref}"
        call = ToolCall(name, arguments, self.state, self.entry_point, self.mode, self.parent_id)
        return TurnMeter(call, prompt, self.output_bound)

    async def _admit(self, meter: TurnMeter) -> Hold | None:
        principal = self.state.principal
        try:
            if self._tokens is not None:
                await self._tokens.admit(principal, meter.prompt_estimate)
            if self._spend is None or self._price is None:
                return None
            estimate = self._price.cost(meter.prompt_estimate, meter.output_bound)
            return await self._spend.reserve(tiers_of(principal, self.route), estimate, call_id=meter.call.id)
        except GatewayError as exc:
            await self.gateway.pipeline.record_call(meter.call, exc)
            raise

    async def _settle(self, meter: TurnMeter, hold: Hold | None, error: GatewayError | None) -> None:
        used = meter.used()
        cost = self._price.cost(used.prompt_tokens, used.completion_tokens) if used and self._price else 0.0
        meter.call.cost = cost
        if used is not None:
            meter.call.arguments.update(used.as_dict())
            if self._tokens is not None:
                await self._tokens.settle(self.state.principal, used.total - meter.prompt_estimate)
        if used is not None:  # a model the configuration names is a label of its own; any other is `_other`
            config, model = self.route.config, self.route.model
            label = model if model in (config.models or ()) or model in config.pricing else "_other"
            self.gateway.observer.model_turn(
                meter.call, self.route.provider, label, used.prompt_tokens, used.completion_tokens
            )
        # Recorded before the spend is booked, at the record's time (as tool calls: `pipeline.py`).
        await self.gateway.pipeline.record_call(meter.call, error or meter.failure)
        if self._spend is not None:
            await self._spend.settle(hold, cost if used is not None else None, now=meter.call.ended)
