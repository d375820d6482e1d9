"""What the MCP endpoint's resource, template and prompt handlers share: one listing gathered from every
upstream that offers the feature, page by page under one gateway cursor; what a caller may see; and
refusals as JSON-RPC errors.

A gateway cursor names the upstream to continue with and that upstream's own cursor (base64url JSON), so
a listing walks the upstreams in name order, each through its own pages, and the gateway holds nothing
between pages. One gateway page gathers upstream pages until it has `PAGE_ITEMS` visible items (or
`MAX_UPSTREAM_PAGES` pages), so a caller who may see little does not get a run of empty pages. A cursor the
gateway did not make, or one naming a server that no longer offers the feature, is refused: -32602 on
the MCP endpoint, 400 over REST.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from mcp import MCPError
from mcp.server.context import ServerRequestContext
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, URL_ELICITATION_REQUIRED, PaginatedRequestParams
from pydantic import BaseModel

from ..errors import BadRequest, GatewayError, UrlElicitationRequired
from ..names import PromptRef, ResourceRef
from ..state import RequestState

if TYPE_CHECKING:
    from ..host import GatewayHost
    from ..upstreams import Upstream
    from .list_changed import ListChangedNotifier

logger = logging.getLogger(__name__)
Item = TypeVar("Item")
PAGE_ITEMS = 100
MAX_UPSTREAM_PAGES = 20
MAX_CURSOR_CHARS = 4096  # an upstream cursor is opaque, but a client must not make the gateway decode megabytes

Context = ServerRequestContext[Any]

FetchPage = Callable[["Upstream", str | None], Awaitable[tuple[Sequence[Item], str | None]]]
"""One page of one upstream's items, and its next cursor."""

RefOf = Callable[[str, Item], ResourceRef | PromptRef]
"""What a server's item is, for the access rules."""

Renamed = Callable[[str, Item], Item]
"""A server's item as clients are shown it (`server__name`, gateway URI)."""


def state_of(ctx: Context) -> RequestState:
    """The governance state of the HTTP request that carried an MCP message."""
    request = ctx.request
    return RequestState.from_scope(request.scope) if request is not None else RequestState()


def may_see(gateway: GatewayHost, state: RequestState, ref: ResourceRef | PromptRef) -> bool:
    """The visibility rule of reads and gets (`Pipeline.use`), for listings: not blocked, and allowed by the
    caller's key and filter headers."""
    return not gateway.catalog.blocks(ref) and state.may_see(ref)


async def gather(
    gateway: GatewayHost,
    notices: ListChangedNotifier,
    ctx: Context,
    params: PaginatedRequestParams | None,
    feature: str,
    fetch: FetchPage[Item],
    ref_of: RefOf[Item],
    renamed: Renamed[Item],
) -> tuple[list[Item], str | None]:
    """`collect` for an MCP session, which is then told when the `feature` listing changes; a refused
    cursor is a JSON-RPC -32602."""
    notices.remember(ctx, feature)
    try:
        return await collect(
            gateway, state_of(ctx), params.cursor if params is not None else None, feature, fetch, ref_of, renamed
        )
    except BadRequest as exc:
        raise MCPError(INVALID_PARAMS, exc.message) from None


async def collect(
    gateway: GatewayHost,
    state: RequestState,
    cursor: str | None,
    feature: str,
    fetch: FetchPage[Item],
    ref_of: RefOf[Item],
    renamed: Renamed[Item],
) -> tuple[list[Item], str | None]:
    """One gateway page of the `feature` (`resources`, `prompts`) items the caller may see, renamed, and
    the cursor of the next page; `BadRequest` for a cursor the gateway did not make or an upstream refused.
    The MCP endpoint and REST (`rest_items.py`) both list through it."""
    servers = sorted(name for name, upstream in gateway.upstreams.items() if upstream.offers(feature))
    position = _decode(cursor, servers) if cursor is not None else _first(servers)
    items: list[Item] = []
    pages = 0
    while position is not None and len(items) < PAGE_ITEMS and pages < MAX_UPSTREAM_PAGES:
        server, upstream_cursor = position
        pages += 1
        page, next_cursor = await _page(gateway, feature, server, upstream_cursor, fetch)
        items.extend(renamed(server, item) for item in page if may_see(gateway, state, ref_of(server, item)))
        position = (server, next_cursor) if next_cursor else _after(server, servers)
    return items, _encode(position) if position is not None else None


async def _page(
    gateway: GatewayHost, feature: str, server: str, cursor: str | None, fetch: FetchPage[Item]
) -> tuple[Sequence[Item], str | None]:
    """One page of one upstream; nothing when it fails or has gone (it must not hide the other upstreams)."""
    upstream = gateway.upstreams.get(server)  # removed while the listing ran: nothing more from it
    if upstream is None:
        return (), None
    try:
        return await fetch(upstream, cursor)
    except BadRequest as exc:
        if cursor is not None:  # the upstream refused its own cursor: the caller's cursor is stale
            raise BadRequest(f"Invalid cursor: {exc.message}") from None
        logger.warning("listing %s of upstream %s failed: %s", feature, server, exc.message)
    except GatewayError as exc:
        logger.warning("listing %s of upstream %s failed: %s", feature, server, exc.message)
    return (), None


def _first(servers: Sequence[str]) -> tuple[str, str | None] | None:
    return (servers[0], None) if servers else None


def _after(server: str, servers: Sequence[str]) -> tuple[str, str | None] | None:
    later = [name for name in servers if name > server]
    return (later[0], None) if later else None


def _encode(position: tuple[str, str | None]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position), separators=(",", ":")).encode()).decode()


def _decode(cursor: str, servers: Sequence[str]) -> tuple[str, str | None]:
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError("too long")
        server, upstream_cursor = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        if not isinstance(server, str) or not isinstance(upstream_cursor, (str, type(None))):
            raise ValueError("not a gateway cursor")
    except (ValueError, TypeError, UnicodeError, binascii.Error):
        raise BadRequest(f"Invalid cursor {cursor[:100]!r}: it was not made by this gateway") from None
    if server not in servers:
        raise BadRequest(f"Invalid cursor: server {server!r} no longer offers this listing")
    return server, upstream_cursor


def page_json(key: str, items: Sequence[Any], next_cursor: str | None) -> dict[str, Any]:
    """A page of a listing as REST and Code Mode return it: `{<key>: [...], nextCursor?}`, MCP's shapes."""
    page: dict[str, Any] = {key: [as_json(item) for item in items]}
    if next_cursor is not None:
        page["nextCursor"] = next_cursor
    return page


def as_json(model: BaseModel) -> dict[str, Any]:
    """An MCP item or result as its wire JSON (camelCase, nothing unset)."""
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


class UrlElicitationError(MCPError):
    """-32042 as the endpoint sends it, still naming the upstream that answered it (`server`): a 2026-07-28
    client's parked call turns it into the revision's URL elicitation (`client_requests.py`)."""

    def __init__(self, exc: UrlElicitationRequired) -> None:
        super().__init__(URL_ELICITATION_REQUIRED, exc.message, {"elicitations": exc.extra["elicitations"]})
        self.server = exc.server


def rpc_error(exc: GatewayError) -> MCPError:
    """A refusal or failure as a JSON-RPC error: -32602 for what the caller asked wrong or may not ask (the
    message says which), -32603 otherwise; `data` carries the reason and HTTP-like status."""
    if isinstance(exc, UrlElicitationRequired):  # the client handles it as the upstream meant it to
        return UrlElicitationError(exc)
    code = INVALID_PARAMS if exc.status in (400, 403, 404) else INTERNAL_ERROR
    data: Mapping[str, Any] = {"reason": exc.reason, "status": exc.status, **exc.extra}
    return MCPError(code, exc.message, dict(data))
