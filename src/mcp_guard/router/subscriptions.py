"""Resource subscriptions on the MCP endpoint: `resources/subscribe` / `unsubscribe` (handshake era) and the
`resourceSubscriptions` of a 2026-07-28 `subscriptions/listen` stream.

Subscribing is a use of the resource, so it goes through the pipeline (`Pipeline.use`, method
`resources/subscribe`): a caller may subscribe only to what it may read, and every attempt is audited.
The gateway watches each subscribed resource on its upstream once, however many clients hold it
(`Watches`), and relays the upstream's updates under the gateway URI (`list_changed.py` sends them). A
2026-07-28 stream is honored for the URIs its caller may read and holds their watches while it is open.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types
from mcp import MCPError

from ..errors import GatewayError
from ..names import ResourceRef, resource_ref
from .aggregate import Context, rpc_error, state_of
from .resources import resolved_resource

if TYPE_CHECKING:
    from ..host import GatewayHost
    from ..upstreams import Upstream
    from .list_changed import ListChangedNotifier

MAX_STREAM_SUBSCRIPTIONS = 64  # resources one listen stream may subscribe to


class _Stream:
    """A 2026-07-28 listen stream, as a holder of watches (weakly referenceable, unlike `object()`)."""


class Watches:
    """Which holders (handshake-era connections, listen streams) want each resource; the upstream watches
    it while anyone does. Holders are weakly held: a session that ends without unsubscribing stops
    counting (its upstream watch ends at the next unsubscribe of that resource, or with the gateway)."""

    def __init__(self) -> None:
        self._holders: dict[ResourceRef, weakref.WeakSet[Any]] = {}

    async def hold(self, upstream: Upstream, ref: ResourceRef, holder: Any) -> None:
        holders = self._holders.setdefault(ref, weakref.WeakSet())
        first = not holders
        holders.add(holder)
        if first:
            await upstream.watch(ref.uri, True)

    async def release(self, upstream: Upstream, ref: ResourceRef, holder: Any) -> None:
        holders = self._holders.get(ref)
        if holders is None:
            return
        holders.discard(holder)
        if not holders:
            del self._holders[ref]
            with anyio.CancelScope(shield=True):  # also when the stream that held it was cancelled
                await upstream.watch(ref.uri, False)


def subscription_handlers(gateway: GatewayHost, notices: ListChangedNotifier) -> dict[str, Any]:
    """The low-level server's handlers for subscriptions (`mcp.server.Server` keyword arguments)."""
    watches = Watches()

    async def subscribe(ctx: Context, params: types.SubscribeRequestParams) -> types.EmptyResult:
        await _hold(gateway, watches, ctx, params.uri, _connection(ctx))
        notices.subscribe(ctx, params.uri)
        return types.EmptyResult()

    async def unsubscribe(ctx: Context, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
        ref = resource_ref(params.uri)
        upstream = gateway.upstreams.get(ref.server) if ref is not None else None
        if ref is not None and upstream is not None:
            await watches.release(upstream, ref, _connection(ctx))
        notices.subscribe(ctx, params.uri, on=False)
        return types.EmptyResult()

    async def listen(ctx: Context, params: types.SubscriptionsListenRequestParams) -> types.SubscriptionsListenResult:
        stream = _Stream()
        asked = list(params.notifications.resource_subscriptions or ())[:MAX_STREAM_SUBSCRIPTIONS]
        held: list[tuple[Upstream, ResourceRef]] = []
        honored: list[str] = []
        try:
            for uri in asked:
                try:
                    held.append(await _hold(gateway, watches, ctx, uri, stream))
                except MCPError:
                    continue  # refused (and audited): the acknowledgment lists only what the caller may read
                honored.append(uri)
            narrowed = params.notifications.model_copy(update={"resource_subscriptions": honored or None})
            return await notices.listen(ctx, params.model_copy(update={"notifications": narrowed}))
        finally:
            for upstream, ref in held:
                await watches.release(upstream, ref, stream)

    return {
        "on_subscribe_resource": subscribe,
        "on_unsubscribe_resource": unsubscribe,
        "on_subscriptions_listen": listen,
    }


async def _hold(
    gateway: GatewayHost, watches: Watches, ctx: Context, uri: str, holder: Any
) -> tuple[Upstream, ResourceRef]:
    """Subscribe `holder` to gateway URI `uri` through the pipeline; `MCPError` (-32602, ...) when refused."""
    ref = resource_ref(uri)

    async def hold(upstream: Upstream, ref: ResourceRef) -> tuple[Upstream, ResourceRef]:
        await watches.hold(upstream, ref, holder)
        return upstream, ref

    label = f"subscription:resource:{ref.uri if ref is not None else uri}"
    try:
        return await gateway.pipeline.use(
            state_of(ctx), "resources/subscribe", label, {}, lambda: resolved_resource(ref, uri), hold
        )
    except GatewayError as exc:
        raise rpc_error(exc) from None


def _connection(ctx: Context) -> Any:
    """The handshake-era connection a request rides on: it lives as long as the session (see
    `ListChangedNotifier.remember`)."""
    return getattr(ctx.session, "_connection", None) or ctx.session
