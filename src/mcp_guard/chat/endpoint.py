"""`POST /v1/chat/completions`: OpenAI-compatible, forwarded to the provider the `model` names, with the
caller's visible tools injected (or Code Mode's meta-tools where Code Mode applies).

Manual mode (default): the model's tool calls come back as suggestions; streaming requests are relayed
as the provider streams. Agent mode (`x-mcp-mode: agent`): see `agent.py`; a streaming request gets the
final result as SSE chunks once the loop has ended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..asgi import Scope, send_json
from ..listing import listing_for
from ..router.rest import read_json
from ..state import RequestState

if TYPE_CHECKING:
    from ..host import GatewayHost


async def chat_completions(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    # Loaded with the first chat request: a gateway that only relays tool calls skips the agent loop,
    # metering and providers (~4 ms and 0.3 MB of every start-up).
    from . import sse
    from .agent import Agent
    from .metering import Metering
    from .relay import relay
    from .request import mode_of, parse_request

    mode = mode_of(scope)
    body = await read_json(scope, receive, gateway.config.max_body_bytes)
    state = RequestState.from_scope(scope)
    injected = listing_for(gateway, state).openai_tools()
    request = parse_request(body, gateway.chat.route, mode, injected)
    metering = Metering(gateway, state, request.route, mode=mode, output_bound=request.output_bound)
    if mode == "agent":
        answer = await Agent(gateway, state, request, metering).run()
        if request.stream:
            await sse.send_chunks(send, sse.completion_chunks(answer, include_usage=request.usage_requested))
        else:
            await send_json(send, 200, answer)
    elif request.stream:
        await relay(send, metering, request)
    else:
        answer, _meter = await metering.complete(request.upstream(request.messages, stream=False))
        await send_json(send, 200, answer)
