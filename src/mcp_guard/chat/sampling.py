"""Sampling fulfilled by the gateway: an upstream's `sampling/createMessage` answered by a model of
`llm.providers` (servers with `sampling: gateway`, or `auto` when the calling client cannot sample).

The request is one model turn of the caller whose tool call (resource read, prompt get) caused it, metered
as the chat endpoint meters its turns (`metering.py`): token limits, the cost reserved on the caller's
budget tiers (and the provider's) before the provider is called and settled with the tokens it used, and
an audit record (server `llm`, tool `<provider>/<model>`, entry `sampling`, parent the causing call, the
asking upstream under `server`). A refusal or a provider failure goes back to the upstream as a JSON-RPC
error that names it.

What MCP asks for and the provider gets: `systemPrompt` → a system message; `messages` (text, images,
audio) → user and assistant messages; `maxTokens` (lowered to `sampling.max_tokens`), `temperature`,
`stopSequences` → `max_tokens`, `temperature`, `stop`; `modelPreferences.hints` pick among
`sampling.models` (the first whose name contains a hint, in hint order; else the first model). Not
honoured: `includeContext` other than `none` (the gateway has no conversation to include: the turn runs
as if `none` and its record says so), `metadata`, the priorities, and tools (refused: such a request needs
a client that declares `sampling.tools`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST

from ..errors import BadRequest, GatewayError, UpstreamError
from ..tool_call import ToolCall

if TYPE_CHECKING:
    from ..host import GatewayHost

# OpenAI's `finish_reason` → MCP's `stopReason` (a provider's "stop" cannot tell a stop sequence apart)
_STOP_REASONS = {"stop": "endTurn", "length": "maxTokens", "tool_calls": "toolUse"}
_AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/mpeg": "mp3"}


class GatewaySampler:
    """`relay.Sampler` of a gateway: the pipeline binds it to every upstream call it makes."""

    def __init__(self, gateway: GatewayHost) -> None:
        self.gateway = gateway

    async def sample(
        self, server: str, call: ToolCall, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult | types.ErrorData:
        from .metering import LLM_SERVER, Metering  # on first use: chat and its providers are not loaded at start-up

        settings = self.gateway.config.sampling
        model = choose_model(settings.models, params.model_preferences)
        context: dict[str, Any] = {"server": server}
        if params.include_context not in (None, "none"):
            context["include_context"] = f"{params.include_context} (not honoured: sampled as 'none')"
        try:
            if not model:  # a server added at runtime is not checked against `sampling.models` as the file is
                raise BadRequest("the gateway has no model to sample with: configure sampling.models")
            route = self.gateway.chat.route(model)
            body = provider_request(route.model, params, settings.max_tokens)
        except GatewayError as exc:  # refused before a turn began (a turn records its own refusals)
            name = f"{LLM_SERVER}/{model or '(none)'}"
            await self.gateway.pipeline.record_call(
                ToolCall(name, context, call.state, "sampling", call.mode, call.id), exc
            )
            return _error(server, model, exc)
        metering = Metering(
            self.gateway,
            call.state,
            route,
            mode=call.mode,
            output_bound=body["max_tokens"],
            entry_point="sampling",
            parent_id=call.id,
            context=context,
        )
        try:
            answer, _meter = await metering.complete(body)
            return sampling_result(answer, route.model)
        except GatewayError as exc:
            return _error(server, model, exc)


def choose_model(models: list[str], preferences: types.ModelPreferences | None) -> str:
    """The first of `models` whose name contains the first hint that names part of one; else the first."""
    hints = [h.name.lower() for h in (preferences.hints or []) if h.name] if preferences is not None else []
    for hint in hints:
        for model in models:
            if hint in model.lower():
                return model
    return models[0] if models else ""


def provider_request(model: str, params: types.CreateMessageRequestParams, max_tokens: int) -> dict[str, Any]:
    """The OpenAI chat completions body for a sampling request; `BadRequest` for what cannot be sent."""
    if params.tools or params.tool_choice is not None:
        raise BadRequest("sampling with tools is not fulfilled by the gateway; it needs a client that declares it")
    if params.max_tokens <= 0:
        raise BadRequest(f"maxTokens must be positive, got {params.max_tokens}")
    messages: list[dict[str, Any]] = []
    if params.system_prompt:
        messages.append({"role": "system", "content": params.system_prompt})
    messages += [{"role": m.role, "content": _content(m.content_as_list)} for m in params.messages]
    body: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": min(params.max_tokens, max_tokens)}
    if params.temperature is not None:
        body["temperature"] = params.temperature
    if params.stop_sequences:
        body["stop"] = params.stop_sequences
    return body


def _content(blocks: list[types.SamplingMessageContentBlock]) -> str | list[dict[str, Any]]:
    """A message's content: plain text when it is all text, else OpenAI content parts."""
    if all(isinstance(b, types.TextContent) for b in blocks):
        return "\n".join(b.text for b in blocks if isinstance(b, types.TextContent))
    return [_part(block) for block in blocks]


def _part(block: types.SamplingMessageContentBlock) -> dict[str, Any]:
    if isinstance(block, types.TextContent):
        return {"type": "text", "text": block.text}
    if isinstance(block, types.ImageContent):
        return {"type": "image_url", "image_url": {"url": f"data:{block.mime_type};base64,{block.data}"}}
    if isinstance(block, types.AudioContent):
        audio_format = _AUDIO_FORMATS.get(block.mime_type.lower())
        if audio_format is None:
            raise BadRequest(f"audio of type {block.mime_type!r} cannot be sent to the provider (only WAV and MP3)")
        return {"type": "input_audio", "input_audio": {"data": block.data, "format": audio_format}}
    raise BadRequest(f"{block.type!r} content (tool use) is not fulfilled by the gateway")


def sampling_result(answer: dict[str, Any], model: str) -> types.CreateMessageResult:
    """The provider's completion as MCP's result; `UpstreamError` when it has no text to give."""
    choices = answer.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = choice.get("message")
    text = message.get("content") if isinstance(message, dict) else None
    if not isinstance(text, str):
        raise UpstreamError("the provider's answer has no text message")
    reason = choice.get("finish_reason")
    answered_by = answer.get("model")
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text=text),
        model=answered_by if isinstance(answered_by, str) and answered_by else model,
        stop_reason=_STOP_REASONS.get(reason, reason) if isinstance(reason, str) else None,
    )


def _error(server: str, model: str, exc: GatewayError) -> types.ErrorData:
    """What the upstream is told: the gateway's reason, in a JSON-RPC error (its status in `data`)."""
    code = INVALID_PARAMS if isinstance(exc, BadRequest) else INVALID_REQUEST if exc.status < 500 else INTERNAL_ERROR
    message = f"mcp-guard could not sample {model!r} for {server!r}: {exc.message}"
    return types.ErrorData(code=code, message=message, data={"status": exc.status, "reason": exc.reason})
