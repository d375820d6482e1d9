"""`prompts/list` and `prompts/get` on the MCP endpoint: every upstream's prompts as `server__name`
(`names.item_name`), those the caller may see only; a get maps the name back to its server and goes
through the pipeline (`Pipeline.use`), and the resources its messages embed or link to are shown under
gateway URIs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp import Client

from ..errors import BadRequest, GatewayError, NotFound, UpstreamError, UpstreamTimeout
from ..names import PromptRef, item_name, prompt_ref
from ..state import RequestState
from .aggregate import Context, collect, gather, rpc_error, state_of
from .shown import shown_block, unstamped

if TYPE_CHECKING:
    from ..host import GatewayHost
    from ..upstreams import Upstream
    from .backchannels import Backchannels

_MAX_DIAGNOSIS_PAGES = 20  # past this, an upstream's failure is left as it is rather than explained


def prompt_handlers(gateway: GatewayHost, channels: Backchannels) -> dict[str, Any]:
    """The low-level server's handlers for the prompts family (`mcp.server.Server` keyword arguments)."""

    async def list_prompts(ctx: Context, params: types.PaginatedRequestParams | None) -> types.ListPromptsResult:
        items, cursor = await gather(
            gateway, channels.list_changed, ctx, params, "prompts", _prompts_page, _prompt_ref, _renamed
        )
        return types.ListPromptsResult(prompts=items, next_cursor=cursor)

    async def get_prompt(
        ctx: Context, params: types.GetPromptRequestParams
    ) -> types.GetPromptResult | types.InputRequiredResult:
        async def answer() -> types.GetPromptResult:
            try:
                return await get(gateway, state_of(ctx), params.name, dict(params.arguments or {}))
            except GatewayError as exc:
                raise rpc_error(exc) from None

        # the upstream's elicitation and sampling while it fills the prompt in reach this client
        return await channels.relays.serve(ctx, params, answer, f"prompt:{params.name}")

    return {"on_list_prompts": list_prompts, "on_get_prompt": get_prompt}


async def prompts_page(
    gateway: GatewayHost, state: RequestState, cursor: str | None
) -> tuple[list[types.Prompt], str | None]:
    """One page of the prompts `state`'s caller may see (REST lists through it)."""
    return await collect(gateway, state, cursor, "prompts", _prompts_page, _prompt_ref, _renamed)


async def get(
    gateway: GatewayHost,
    state: RequestState,
    name: str,
    arguments: dict[str, str],
    *,
    entry_point: str = "mcp",
    mode: str = "manual",
    parent_id: str | None = None,
) -> types.GetPromptResult:
    """Get prompt `name` (`server__prompt`) through the pipeline; `GatewayError` when refused or failed.
    Every entry point (MCP, REST, Code Mode) gets prompts through here."""
    ref = prompt_ref(name, gateway.upstreams)

    async def fetch(upstream: Upstream, ref: PromptRef) -> types.GetPromptResult:
        try:
            result = await upstream.request(
                f"prompts/get {name!r}", lambda client: client.get_prompt(ref.prompt, arguments or None)
            )
        except UpstreamTimeout:
            raise
        except UpstreamError as exc:
            raise await _diagnosed(upstream, ref, name, arguments, exc) from None
        messages = [m.model_copy(update={"content": shown_block(ref.server, m.content)}) for m in result.messages]
        return unstamped(result, messages=messages)

    label = f"prompt:{ref.prompt if ref is not None else name}"

    def resolve() -> PromptRef:
        return resolved_prompt(ref, name)

    return await gateway.pipeline.use(
        state, "prompts/get", label, arguments, resolve, fetch, entry_point=entry_point, mode=mode, parent_id=parent_id
    )


def resolved_prompt(ref: PromptRef | None, name: str) -> PromptRef:
    if ref is None:
        raise NotFound(
            f"Unknown prompt {name[:200]!r}: the gateway names prompts server__prompt, as prompts/list shows them",
            extra={"prompt": name[:200]},
        )
    return ref


async def _diagnosed(
    upstream: Upstream, ref: PromptRef, name: str, arguments: dict[str, str], failure: UpstreamError
) -> GatewayError:
    """What was wrong with a get the upstream only said it failed: the SDK's own server (`MCPServer`)
    answers an unknown prompt or a missing argument with -32603 "Internal server error". The upstream's
    listing tells whether the prompt exists and which arguments it requires; the caller's mistake is a
    4xx naming it, and anything else stays the upstream's failure."""
    try:
        prompt = await _listed_prompt(upstream, ref.prompt)
    except GatewayError:
        return failure  # the listing fails too: the upstream is in trouble, not the caller
    if prompt is None:
        return NotFound(
            f"Unknown prompt {name[:200]!r}: server '{ref.server}' has no prompt {ref.prompt[:200]!r}",
            extra={"prompt": name[:200]},
        )
    missing = [a.name for a in prompt.arguments or [] if a.required and a.name not in arguments]
    if missing:
        return BadRequest(
            f"Prompt {name[:200]!r} requires argument(s) {', '.join(missing)}, not given",
            extra={"prompt": name[:200], "missing": missing},
        )
    return failure


async def _listed_prompt(upstream: Upstream, prompt: str) -> types.Prompt | None:
    """Prompt `prompt` as its upstream lists it, or None; a bounded walk of the upstream's pages."""
    cursor: str | None = None
    for _ in range(_MAX_DIAGNOSIS_PAGES):
        page, cursor = await _prompts_page(upstream, cursor)
        found = next((p for p in page if p.name == prompt), None)
        if found is not None or cursor is None:
            return found
    raise UpstreamError(f"Upstream '{upstream.config.name}' lists more than {_MAX_DIAGNOSIS_PAGES} pages of prompts")


def _prompt_ref(server: str, prompt: types.Prompt) -> PromptRef:
    return PromptRef(server, prompt.name)


def _renamed(server: str, prompt: types.Prompt) -> types.Prompt:
    return prompt.model_copy(update={"name": item_name(server, prompt.name)})


async def _prompts_page(upstream: Upstream, cursor: str | None) -> tuple[Sequence[types.Prompt], str | None]:
    async def send(client: Client) -> types.ListPromptsResult:
        return await client.list_prompts(cursor=cursor)

    page = await upstream.request("prompts/list", send)
    return page.prompts, page.next_cursor
