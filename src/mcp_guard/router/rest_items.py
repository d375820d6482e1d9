"""REST endpoints for resources and prompts, for applications that do not speak MCP.

They list, read and get through the same functions as the MCP endpoint (`resources.py`, `prompts.py`), so
what a caller is shown, what it may read and how a read is limited, priced and audited (`Pipeline.use`,
entry point `rest`) do not depend on how it asked. Answers are the MCP results as JSON (gateway URIs and
`server__name` names); a listing pages with `?cursor=` and says `nextCursor`; refusals are problem+json.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..asgi import Scope, send_json
from ..errors import BadRequest
from ..state import RequestState
from . import prompts, resources
from .aggregate import as_json, page_json
from .rest import first_error, query, read_json

if TYPE_CHECKING:
    from ..host import GatewayHost

Body = TypeVar("Body", bound=BaseModel)
MAX_URI_CHARS = 8192  # a URI longer than this is not one any server offers: refused before it is parsed


class ReadResource(BaseModel):
    """`POST /resources/read`: the gateway URI of the resource, as `GET /resources` shows it."""

    model_config = ConfigDict(extra="forbid")
    uri: str = Field(min_length=1, max_length=MAX_URI_CHARS)


class GetPrompt(BaseModel):
    """`POST /prompts/get`: the prompt's `server__prompt` name and its string arguments."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=1024)
    arguments: dict[str, str] = Field(default_factory=dict)


async def list_resources(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    state, cursor = _listing(scope)
    items, next_cursor = await resources.resources_page(gateway, state, cursor)
    await send_json(send, 200, page_json("resources", items, next_cursor))


async def list_resource_templates(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    state, cursor = _listing(scope)
    items, next_cursor = await resources.templates_page(gateway, state, cursor)
    await send_json(send, 200, page_json("resourceTemplates", items, next_cursor))


async def read_resource(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    """`GET ?uri=`: one resource's contents."""
    uri = query(scope).get("uri", "")
    if not uri or len(uri) > MAX_URI_CHARS:
        raise BadRequest(f"Give the resource as ?uri=<gateway URI> (1 to {MAX_URI_CHARS} characters)")
    await _send_read(gateway, scope, send, uri)


async def read_resource_posted(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    """`POST {uri}`: the same, for a URI too long or too awkward for a query string."""
    body = await read_json(scope, receive, gateway.config.max_body_bytes)
    await _send_read(gateway, scope, send, _validated(ReadResource, body, "{uri}").uri)


async def _send_read(gateway: GatewayHost, scope: Scope, send: Any, uri: str) -> None:
    result = await resources.read(gateway, RequestState.from_scope(scope), uri, entry_point="rest")
    await send_json(send, 200, as_json(result))


async def list_prompts(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    state, cursor = _listing(scope)
    items, next_cursor = await prompts.prompts_page(gateway, state, cursor)
    await send_json(send, 200, page_json("prompts", items, next_cursor))


async def get_prompt(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    """`POST {name, arguments}`: the prompt's messages, filled in."""
    body = _validated(
        GetPrompt, await read_json(scope, receive, gateway.config.max_body_bytes), "{name, arguments: {string: string}}"
    )
    state = RequestState.from_scope(scope)
    result = await prompts.get(gateway, state, body.name, body.arguments, entry_point="rest")
    await send_json(send, 200, as_json(result))


def _listing(scope: Scope) -> tuple[RequestState, str | None]:
    return RequestState.from_scope(scope), query(scope).get("cursor") or None


def _validated(model: type[Body], body: Any, shape: str) -> Body:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise BadRequest(f"Body is not {shape}: {first_error(exc)}") from None
