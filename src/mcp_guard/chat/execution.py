"""Running one model turn's auto-executable tool calls: all at once, each through `GatewayHost.call` (the one
pipeline, with the request's state, entry point `agent` and the turn as parent), each ending as a step
whose result becomes a `tool` message for the model. A refusal or failure is a result too: the model
reads why, as it would from an MCP `is_error` result."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from ..errors import GatewayError
from ..results import result_text
from ..state import RequestState
from .auto import AutoPolicy

if TYPE_CHECKING:
    from ..host import GatewayHost


def call_name(call: dict[str, Any]) -> str:
    """The function name of an OpenAI tool call (empty when the model sent something malformed)."""
    function = call.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    return name if isinstance(name, str) else ""


@dataclass(slots=True)
class Step:
    """One tool call the gateway executed in agent mode."""

    turn: int
    tool_call_id: str
    name: str
    arguments: str
    content: str = ""
    is_error: bool = False
    needs_approval: tuple[str, ...] = ()  # tools an `executeToolCode` program was refused
    duration_ms: float = 0.0

    @classmethod
    def of(cls, call: dict[str, Any], turn: int) -> Step:
        function = call.get("function") or {}
        arguments = function.get("arguments") if isinstance(function, dict) else None
        text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
        return cls(turn, str(call.get("id", "")), call_name(call), text)

    def message(self) -> dict[str, Any]:
        """The `tool` message that gives the model this result."""
        return {"role": "tool", "tool_call_id": self.tool_call_id, "content": self.content}

    def as_dict(self) -> dict[str, Any]:
        body = {
            "turn": self.turn,
            "tool_call_id": self.tool_call_id,
            "name": self.name,
            "arguments": self.arguments,
            "content": self.content,
            "is_error": self.is_error,
            "duration_ms": round(self.duration_ms, 1),
        }
        return {**body, "needs_approval": list(self.needs_approval)} if self.needs_approval else body


async def run_calls(
    gateway: GatewayHost,
    state: RequestState,
    policy: AutoPolicy,
    calls: list[dict[str, Any]],
    *,
    turn: int,
    parent_id: str,
) -> list[Step]:
    """Run `calls` concurrently; one step per call, in the model's order."""
    steps = [Step.of(call, turn) for call in calls]
    async with anyio.create_task_group() as group:
        for step in steps:
            group.start_soon(_run, gateway, state, policy, step, parent_id)
    return steps


async def _run(gateway: GatewayHost, state: RequestState, policy: AutoPolicy, step: Step, parent_id: str) -> None:
    started = time.perf_counter()
    tracker = policy.tracker()
    try:
        arguments = json.loads(step.arguments) if step.arguments.strip() else {}
        result = await gateway.call(
            state, step.name, arguments, entry_point="agent", mode="agent", parent_id=parent_id, auto_only=tracker
        )
        step.content, step.is_error = result_text(result), bool(result.is_error)
    except ValueError as exc:
        step.content, step.is_error = f"Arguments of the call to {step.name!r} are not valid JSON: {exc}", True
    except GatewayError as exc:
        step.content, step.is_error = exc.message, True
    step.needs_approval = tuple(tracker.refused)
    step.duration_ms = (time.perf_counter() - started) * 1000.0
