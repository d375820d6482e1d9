"""REST endpoints for applications that drive tools themselves (OpenAI-style tool calls)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, ValidationError

from ..asgi import Scope, header, read_body, send_json
from ..chat.confirmations import CONFIRM_HEADER
from ..errors import BadRequest, NotFound, UnsupportedMediaType
from ..json_input import parse_body
from ..listing import listing_for
from ..results import result_text
from ..state import RequestState

if TYPE_CHECKING:
    from ..host import GatewayHost


class _Function(BaseModel):
    name: str
    arguments: str | dict[str, Any] | None = None


class ChatToolCall(BaseModel):
    """An OpenAI Chat Completions tool call: `{id, type: "function", function: {name, arguments}}`."""

    model_config = ConfigDict(extra="ignore")
    id: str
    type: Literal["function"] = "function"
    function: _Function


class ResponsesToolCall(BaseModel):
    """An OpenAI Responses API item: `{type: "function_call", call_id, name, arguments}`."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["function_call"] = "function_call"
    call_id: str
    name: str
    arguments: str | dict[str, Any] | None = None


def query(scope: Scope) -> dict[str, str]:
    raw = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return {k: v[-1] for k, v in raw.items()}


async def list_tools(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    listing = listing_for(gateway, RequestState.from_scope(scope))
    if query(scope).get("format") == "openai":
        await send_json(send, 200, listing.openai_tools())
        return
    tools = [
        {
            "name": e.name,
            "ref": str(e.ref),
            "server": e.ref.server,
            **e.tool.model_dump(by_alias=True, exclude_none=True, mode="json", exclude={"name"}),
        }
        for e in listing.direct
    ]
    if listing.code:
        meta = [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in listing.mcp_tools()[len(tools) :]]
        tools += [{**t, "ref": None, "server": None} for t in meta]
    await send_json(send, 200, {"tools": tools})


async def execute_tool(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    responses_format = query(scope).get("format") == "responses"
    body = await read_json(scope, receive, gateway.config.max_body_bytes)
    model: type[ChatToolCall | ResponsesToolCall] = ResponsesToolCall if responses_format else ChatToolCall
    try:
        call = model.model_validate(body)
    except ValidationError as exc:
        raise BadRequest(f"Body is not {_expected(responses_format)}: {first_error(exc)}") from None
    name, call_id, raw_args = (
        (call.name, call.call_id, call.arguments)
        if isinstance(call, ResponsesToolCall)
        else (call.function.name, call.id, call.function.arguments)
    )
    state = RequestState.from_scope(scope)
    confirmation = header(scope, CONFIRM_HEADER)  # a destructive tool's second step (409 first)
    arguments = _parse_arguments(raw_args, name)
    result = await gateway.call(state, name, arguments, entry_point="rest", confirmation=confirmation)
    content = result_text(result)
    extra = {"is_error": True} if result.is_error else {}
    if responses_format:
        await send_json(send, 200, {"type": "function_call_output", "call_id": call_id, "output": content, **extra})
    else:
        await send_json(send, 200, {"role": "tool", "tool_call_id": call_id, "content": content, **extra})


async def list_servers(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    source = gateway.upstream_manager.source
    servers = [{**u.status.as_dict(), "source": source(name)} for name, u in gateway.upstreams.items()]
    await send_json(send, 200, {"servers": servers})


async def reconnect_server(gateway: GatewayHost, scope: Scope, receive: Any, send: Any, *, name: str) -> None:
    upstream = gateway.upstreams.get(name)
    if upstream is None:
        raise NotFound(f"No server named {name!r}; configured: {', '.join(sorted(gateway.upstreams)) or 'none'}")
    upstream.reconnect()
    await send_json(send, 202, upstream.status.as_dict())


async def read_json(scope: Scope, receive: Any, limit: int) -> Any:
    content_type = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType(f"Expected Content-Type 'application/json', got {content_type or 'none'!r}")
    return parse_body(await read_body(receive, limit))


def _parse_arguments(raw: str | dict[str, Any] | None, name: str) -> Any:
    if not isinstance(raw, str):
        return raw
    if not raw.strip():
        return {}
    return parse_body(raw, f"The arguments string of the call to {name!r}")


def _expected(responses_format: bool) -> str:
    return (
        "a Responses API function_call item {type, call_id, name, arguments}"
        if responses_format
        else "an OpenAI tool call {id, type: 'function', function: {name, arguments}}"
    )


def first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
