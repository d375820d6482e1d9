"""Manual mode, streaming: the provider's SSE stream relayed to the caller as it arrives.

The gateway reads each chunk on the way for the usage it settles with (it asks the provider for the usage
chunk; a caller that did not ask for it gets the stream without it, as the provider would have sent it).
Once the response has started, a failure can no longer become a problem+json: it ends the stream with an
OpenAI-style `data: {"error": ...}` event.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import GatewayError
from . import sse
from .metering import Metering, TurnMeter
from .request import ChatRequest
from .tokens import Usage


async def relay(send: Any, metering: Metering, request: ChatRequest) -> None:
    body = request.upstream(request.messages, stream=True)
    async with metering.stream(body) as (meter, lines):
        await sse.start(send)
        try:
            async for data in sse.data_events(lines):
                forwarded = observe(data, meter, request.usage_requested)
                if forwarded is not None:
                    await sse.event(send, forwarded)
        except GatewayError as exc:
            meter.failure = exc
            await sse.event(send, json.dumps({"error": {"message": exc.message, "type": exc.reason}}))
        await sse.end(send)


def observe(data: str, meter: TurnMeter, usage_requested: bool) -> str | None:
    """Note what a chunk says about usage; return what to forward (None: drop it)."""
    try:
        chunk = json.loads(data)
    except ValueError:
        return data  # `[DONE]`, or something the gateway does not read: the caller's business
    if not isinstance(chunk, dict):
        return data
    meter.streamed_chars += _generated_chars(chunk.get("choices"))
    if "usage" not in chunk or usage_requested:
        meter.usage = Usage.reported(chunk.get("usage")) or meter.usage
        return data
    meter.usage = Usage.reported(chunk.pop("usage")) or meter.usage
    return json.dumps(chunk) if chunk.get("choices") else None


def _generated_chars(choices: Any) -> int:
    """Characters of text and tool-call arguments in a chunk's deltas."""
    total = 0
    for choice in choices if isinstance(choices, list) else []:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        total += len(delta.get("content") or "")
        for call in delta.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            total += len(function.get("arguments") or "") if isinstance(function, dict) else 0
    return total
