"""`completion/complete` on the MCP endpoint: routed to the upstream that owns the prompt or resource
template being filled in, through the pipeline (`Pipeline.use`), so a caller can complete only the
arguments of prompts and templates it may see, and each completion is limited and audited."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mcp_types as types

from ..errors import GatewayError
from ..names import PromptRef, ResourceRef, prompt_ref, resource_ref
from .aggregate import Context, rpc_error, state_of
from .prompts import resolved_prompt
from .resources import resolved_resource
from .shown import unstamped

if TYPE_CHECKING:
    from ..host import GatewayHost
    from ..upstreams import Upstream

_NOTHING = types.CompleteResult(completion=types.Completion(values=[]))


def completion_handlers(gateway: GatewayHost) -> dict[str, Any]:
    """The low-level server's handler for `completion/complete` (an `mcp.server.Server` keyword argument)."""

    async def complete(ctx: Context, params: types.CompleteRequestParams) -> types.CompleteResult:
        shown = params.ref
        ref: PromptRef | ResourceRef | None
        if isinstance(shown, types.PromptReference):
            asked, ref = shown.name, prompt_ref(shown.name, gateway.upstreams)
            label = f"completion:prompt:{asked}"
        else:
            asked, ref = shown.uri, resource_ref(shown.uri)
            label = f"completion:resource:{asked}"
        argument = {"name": params.argument.name, "value": params.argument.value}
        context = params.context.arguments if params.context is not None else None

        def resolve() -> PromptRef | ResourceRef:
            if isinstance(shown, types.PromptReference):
                return resolved_prompt(ref if isinstance(ref, PromptRef) else None, shown.name)
            return resolved_resource(ref if isinstance(ref, ResourceRef) else None, shown.uri)

        async def ask(upstream: Upstream, ref: PromptRef | ResourceRef) -> types.CompleteResult:
            if not upstream.offers("completions"):
                return _NOTHING  # nothing to suggest, as a server without completions would say
            owned = (
                types.PromptReference(name=ref.prompt)
                if isinstance(ref, PromptRef)
                else types.ResourceTemplateReference(uri=ref.uri)
            )
            result = await upstream.request(
                f"completion/complete for {asked!r}", lambda client: client.complete(owned, argument, context)
            )
            return unstamped(result)

        try:
            return await gateway.pipeline.use(
                state_of(ctx), "completion/complete", label, {"argument": argument}, resolve, ask
            )
        except GatewayError as exc:
            raise rpc_error(exc) from None

    return {"on_completion": complete}
