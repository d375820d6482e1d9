"""`resources/list`, `resources/templates/list` and `resources/read` on the MCP endpoint.

Every upstream's resources and templates are listed under gateway URIs (`mcp-guard://server/<URI>`,
`names.gateway_uri`) and `server__name` names, those the caller may see only; a read maps the URI back
to its server and goes through the pipeline (`Pipeline.use`), so it is checked, limited, priced and
audited like a tool call, and a resource the caller is not shown cannot be read either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp import Client

from ..errors import BadRequest, GatewayError
from ..names import GATEWAY_URI_SCHEME, ResourceRef, gateway_uri, item_name, resource_ref
from ..state import RequestState
from .aggregate import Context, collect, gather, rpc_error, state_of
from .shown import shown_contents, unstamped

if TYPE_CHECKING:
    from ..host import GatewayHost
    from ..upstreams import Upstream
    from .backchannels import Backchannels


def resource_handlers(gateway: GatewayHost, channels: Backchannels) -> dict[str, Any]:
    """The low-level server's handlers for the resources family (`mcp.server.Server` keyword arguments)."""

    async def list_resources(ctx: Context, params: types.PaginatedRequestParams | None) -> types.ListResourcesResult:
        items, cursor = await gather(
            gateway, channels.list_changed, ctx, params, "resources", _resources_page, _resource_ref, _renamed
        )
        return types.ListResourcesResult(resources=items, next_cursor=cursor)

    async def list_templates(
        ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        items, cursor = await gather(
            gateway, channels.list_changed, ctx, params, "resources", _templates_page, _template_ref, _renamed_template
        )
        return types.ListResourceTemplatesResult(resource_templates=items, next_cursor=cursor)

    async def read_resource(
        ctx: Context, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult | types.InputRequiredResult:
        async def answer() -> types.ReadResourceResult:
            try:
                return await read(gateway, state_of(ctx), params.uri)
            except GatewayError as exc:
                raise rpc_error(exc) from None

        # the upstream's elicitation and sampling during the read reach this client, as during a tool call
        return await channels.relays.serve(ctx, params, answer, f"resource:{params.uri}")

    return {
        "on_list_resources": list_resources,
        "on_list_resource_templates": list_templates,
        "on_read_resource": read_resource,
    }


async def resources_page(
    gateway: GatewayHost, state: RequestState, cursor: str | None
) -> tuple[list[types.Resource], str | None]:
    """One page of the resources `state`'s caller may see (REST lists through it)."""
    return await collect(gateway, state, cursor, "resources", _resources_page, _resource_ref, _renamed)


async def templates_page(
    gateway: GatewayHost, state: RequestState, cursor: str | None
) -> tuple[list[types.ResourceTemplate], str | None]:
    """One page of the resource templates `state`'s caller may see."""
    return await collect(gateway, state, cursor, "resources", _templates_page, _template_ref, _renamed_template)


async def read(
    gateway: GatewayHost,
    state: RequestState,
    uri: str,
    *,
    entry_point: str = "mcp",
    mode: str = "manual",
    parent_id: str | None = None,
) -> types.ReadResourceResult:
    """Read gateway URI `uri` through the pipeline; `GatewayError` when refused or failed. Every entry point
    (MCP, REST, Code Mode) reads through here, so all are governed alike."""
    ref = resource_ref(uri)
    label = f"resource:{ref.uri if ref is not None else uri}"

    def resolve() -> ResourceRef:
        return resolved_resource(ref, uri)

    return await gateway.pipeline.use(
        state, "resources/read", label, {}, resolve, _read, entry_point=entry_point, mode=mode, parent_id=parent_id
    )


def _resource_ref(server: str, resource: types.Resource) -> ResourceRef:
    return ResourceRef(server, resource.uri)


def _renamed(server: str, resource: types.Resource) -> types.Resource:
    return resource.model_copy(
        update={"uri": gateway_uri(server, resource.uri), "name": item_name(server, resource.name)}
    )


def _template_ref(server: str, template: types.ResourceTemplate) -> ResourceRef:
    return ResourceRef(server, template.uri_template)


def _renamed_template(server: str, template: types.ResourceTemplate) -> types.ResourceTemplate:
    shown = gateway_uri(server, template.uri_template)
    return template.model_copy(update={"uri_template": shown, "name": item_name(server, template.name)})


def resolved_resource(ref: ResourceRef | None, uri: str) -> ResourceRef:
    if ref is None:
        raise BadRequest(
            f"Unknown resource URI {uri[:200]!r}: the gateway's resource URIs are "
            f"{GATEWAY_URI_SCHEME}://<server>/<URI>, as resources/list shows them",
            extra={"resource": uri[:200]},
        )
    return ref


async def _read(upstream: Upstream, ref: ResourceRef) -> types.ReadResourceResult:
    shown = gateway_uri(ref.server, ref.uri)  # errors name the resource as the caller asked for it
    result = await upstream.request(f"resources/read {shown!r}", lambda client: client.read_resource(ref.uri))
    # private whatever the upstream said: the gateway decided per key that this caller may read it
    return unstamped(result, contents=shown_contents(ref.server, result.contents), cache_scope="private")


async def _resources_page(upstream: Upstream, cursor: str | None) -> tuple[Sequence[types.Resource], str | None]:
    async def send(client: Client) -> types.ListResourcesResult:
        return await client.list_resources(cursor=cursor)

    page = await upstream.request("resources/list", send)
    return page.resources, page.next_cursor


async def _templates_page(
    upstream: Upstream, cursor: str | None
) -> tuple[Sequence[types.ResourceTemplate], str | None]:
    async def send(client: Client) -> types.ListResourceTemplatesResult:
        return await client.list_resource_templates(cursor=cursor)

    page = await upstream.request("resources/templates/list", send)
    return page.resource_templates, page.next_cursor
