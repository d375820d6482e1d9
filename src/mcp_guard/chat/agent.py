"""Agent mode: the gateway drives the loop while the model calls auto-executable tools.

    turn: model call → its tool calls → none auto-executable?  return them (or the answer)
                                      → depth limit reached?    return them all, unexecuted
                                      → run the auto ones in parallel, append their results
                                      → any left (not auto, or a program needing approval)? return those
                                      → next turn

What comes back is the last model answer with `tool_calls` narrowed to the calls awaiting the app's
approval (`finish_reason: "tool_calls"`), usage summed over all turns, and an `mcp_guard` object: the
executed steps, why the loop stopped, and the messages the gateway added to the conversation, so the app
continues with `messages + mcp_guard.messages + one tool message per pending call`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..errors import GatewayError, UpstreamError
from ..state import RequestState
from .auto import AutoPolicy
from .execution import Step, call_name, run_calls
from .metering import Metering, TurnMeter
from .request import ChatRequest
from .tokens import Usage

if TYPE_CHECKING:
    from ..host import GatewayHost

Stopped = Literal["answer", "approval", "max_depth"]


@dataclass(slots=True)
class AgentRun:
    """What one agent-mode request has done so far."""

    max_depth: int
    turns: int = 0
    depth: int = 0  # rounds of executed tool calls
    usage: Usage = field(default_factory=Usage)
    steps: list[Step] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)  # added to the caller's conversation

    def extension(self, stopped: Stopped | None, pending: list[dict[str, Any]]) -> dict[str, Any]:
        """The `mcp_guard` object of the response (`stopped` None: the loop was cut short by an error)."""
        body: dict[str, Any] = {
            "mode": "agent",
            "stopped": stopped,
            "turns": self.turns,
            "depth": self.depth,
            "max_depth": self.max_depth,
            "usage": self.usage.as_dict(),
            "executed": [step.as_dict() for step in self.steps],
            "pending": [str(call.get("id", "")) for call in pending],
            "messages": self.messages,
        }
        if stopped == "max_depth":
            body["note"] = (
                f"Stopped at the depth limit: {self.depth} rounds of auto-executed tool calls (agent.max_depth); "
                "the model's last tool calls were not run and are returned as suggestions"
            )
        return body


class Agent:
    def __init__(self, gateway: GatewayHost, state: RequestState, request: ChatRequest, metering: Metering) -> None:
        self.gateway = gateway
        self.state = state
        self.request = request
        self.metering = metering
        self.policy = AutoPolicy(gateway, state.principal, request.injected)

    async def run(self) -> dict[str, Any]:
        """Loop until the model answers, asks for something that needs approval, or the depth limit."""
        run = AgentRun(self.gateway.config.agent.max_depth)
        while True:
            answer, meter = await self._turn(run)
            message = _message(answer)
            run.messages.append(message)
            calls = [c for c in message.get("tool_calls") or [] if isinstance(c, dict)]
            auto = [c for c in calls if self.policy.is_auto(call_name(c))]
            if not auto:
                return finish(answer, run, calls, "approval" if calls else "answer")
            if run.depth >= run.max_depth:
                return finish(answer, run, calls, "max_depth")
            pending = await self._execute(run, meter, calls, auto)
            if pending:
                return finish(answer, run, pending, "approval")

    async def _turn(self, run: AgentRun) -> tuple[dict[str, Any], TurnMeter]:
        body = self.request.upstream([*self.request.messages, *run.messages], stream=False)
        try:
            answer, meter = await self.metering.complete(body)
        except GatewayError as exc:
            if run.turns:  # a refusal mid-loop (budget, token limit) still reports the work done
                exc.extra["mcp_guard"] = run.extension(None, [])
            raise
        run.turns += 1
        run.usage += meter.used() or Usage()
        return answer, meter

    async def _execute(
        self, run: AgentRun, meter: TurnMeter, calls: list[dict[str, Any]], auto: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Run the auto calls; return the calls of this turn still awaiting the app."""
        steps = await run_calls(self.gateway, self.state, self.policy, auto, turn=run.turns, parent_id=meter.call.id)
        run.depth += 1
        run.steps += steps
        done = {id(call) for call, step in zip(auto, steps, strict=True) if not step.needs_approval}
        run.messages += [step.message() for step in steps if not step.needs_approval]
        return [call for call in calls if id(call) not in done]


def _message(answer: dict[str, Any]) -> dict[str, Any]:
    choices = answer.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    if not isinstance(message, dict):
        raise UpstreamError("The provider's answer has no choices[0].message")
    return message


def finish(answer: dict[str, Any], run: AgentRun, pending: list[dict[str, Any]], stopped: Stopped) -> dict[str, Any]:
    """The response: the last answer, its tool calls narrowed to `pending`, usage summed, the extension."""
    choice = dict(answer["choices"][0])
    if pending:
        choice["message"] = {**choice["message"], "tool_calls": pending}
        choice["finish_reason"] = "tool_calls"
    return {**answer, "choices": [choice], "usage": run.usage.as_dict(), "mcp_guard": run.extension(stopped, pending)}
