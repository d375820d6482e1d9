"""A chat completion request as the gateway reads it, and the body it sends upstream.

The body is forwarded as the caller wrote it (any field the provider understands passes through), except:
`model` loses its provider prefix, `tools` becomes the caller's visible gateway tools plus the caller's
own, and a streaming request always asks the provider for usage (the gateway needs it to settle; the
caller sees it only if it asked). A caller tool whose name is also an injected gateway tool is refused
with 400: renaming either would make the model's calls ambiguous to the app that acts on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..asgi import Scope, header
from ..errors import BadRequest
from .providers import Route

Mode = Literal["manual", "agent"]
MODE_HEADER = b"x-mcp-mode"  # `agent`: auto-executable tool calls run in the gateway; default `manual`


def mode_of(scope: Scope) -> Mode:
    value = (header(scope, MODE_HEADER) or "manual").strip().lower()
    if value not in ("manual", "agent"):
        raise BadRequest(f"x-mcp-mode must be 'manual' or 'agent', got {value!r}")
    return "agent" if value == "agent" else "manual"


@dataclass(frozen=True, slots=True)
class ChatRequest:
    body: dict[str, Any]
    route: Route
    mode: Mode
    tools: list[dict[str, Any]]  # injected gateway tools, then the caller's own
    injected: frozenset[str]  # names of the gateway tools among `tools`

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.body["messages"]
        return messages

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True

    @property
    def usage_requested(self) -> bool:
        """Whether a streaming caller asked for the usage chunk (`stream_options.include_usage`)."""
        options = self.body.get("stream_options")
        return isinstance(options, dict) and options.get("include_usage") is True

    @property
    def output_bound(self) -> int:
        """Completion tokens one turn may produce, for the cost reserved before it."""
        for name in ("max_completion_tokens", "max_tokens"):
            value = self.body.get(name)
            if isinstance(value, int) and value > 0:
                return value
        return self.route.config.max_output_tokens

    def upstream(self, messages: list[dict[str, Any]], *, stream: bool) -> dict[str, Any]:
        """The body of one provider call."""
        body = {**self.body, "model": self.route.model, "messages": messages, "stream": stream}
        body.pop("tools", None)
        if self.tools:
            body["tools"] = self.tools
        if stream:
            body["stream_options"] = {**(self.body.get("stream_options") or {}), "include_usage": True}
        else:
            body.pop("stream_options", None)
        return body


def parse_request(body: Any, route_of: Any, mode: Mode, injected: Sequence[dict[str, Any]]) -> ChatRequest:
    """Check the parts of the body the gateway relies on and merge the tools; 400 naming the problem."""
    if not isinstance(body, dict):
        raise BadRequest("Body must be a JSON object (an OpenAI chat completion request)")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise BadRequest("'messages' must be a non-empty list of message objects")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise BadRequest("'stream' must be true or false")
    if mode == "agent" and body.get("n", 1) != 1:
        raise BadRequest("Agent mode runs one conversation: 'n' must be 1")
    route: Route = route_of(body.get("model"))
    tools = merge_tools(injected, body.get("tools"))
    names = frozenset(_tool_name(t) for t in injected)
    return ChatRequest(body, route, mode, tools, names)


def merge_tools(injected: Sequence[dict[str, Any]], own: Any) -> list[dict[str, Any]]:
    """The gateway's tools, then the caller's; 400 when a caller tool has a gateway tool's name."""
    if own is None:
        own = []
    if not isinstance(own, list) or not all(isinstance(t, dict) and isinstance(_tool_name(t), str) for t in own):
        raise BadRequest("'tools' must be a list of {type: 'function', function: {name, ...}} objects")
    taken = {_tool_name(t) for t in injected}
    clashes = sorted(_tool_name(t) for t in own if _tool_name(t) in taken)
    if clashes:
        raise BadRequest(
            f"Tool name(s) {', '.join(map(repr, clashes))} sent by the caller are also gateway tools; "
            "rename yours (gateway tools are named server__tool)",
            extra={"clashes": clashes},
        )
    return [*injected, *own]


def _tool_name(tool: dict[str, Any]) -> Any:
    function = tool.get("function")
    return function.get("name") if isinstance(function, dict) else None
