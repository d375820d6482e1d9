"""The MCP endpoint's paged fan-out over upstreams (`router/aggregate.py`), with stand-in upstreams."""

from types import SimpleNamespace

import pytest
from mcp import MCPError

from mcp_guard.errors import BadRequest, UpstreamError
from mcp_guard.names import ResourceRef
from mcp_guard.router import aggregate

pytestmark = pytest.mark.anyio


class Upstream:
    def __init__(self, name: str, pages: list[list[str]], failure: Exception | None = None) -> None:
        self.name, self.pages, self.failure = name, pages, failure

    def offers(self, feature: str) -> bool:
        return True


async def fetch(upstream: Upstream, cursor: str | None):
    if upstream.failure is not None:
        raise upstream.failure
    index = int(cursor or 0)
    following = str(index + 1) if index + 1 < len(upstream.pages) else None
    return upstream.pages[index], following


def gateway(*upstreams: Upstream):
    return SimpleNamespace(
        upstreams={u.name: u for u in upstreams},
        catalog=SimpleNamespace(blocks=lambda ref: False),
    )


NOTICES = SimpleNamespace(remember=lambda ctx, kind: None)


async def listing(world, cursor=None):
    params = SimpleNamespace(cursor=cursor)
    ctx = SimpleNamespace(request=None)
    return await aggregate.gather(
        world,
        NOTICES,
        ctx,
        params,
        "resources",
        fetch,
        lambda server, item: ResourceRef(server, item),
        lambda s, i: f"{s}:{i}",
    )


async def test_every_page_of_every_upstream_in_server_order(monkeypatch):
    monkeypatch.setattr(aggregate, "PAGE_ITEMS", 2)
    world = gateway(Upstream("b", [["b1", "b2"], ["b3"]]), Upstream("a", [["a1"]]))
    seen, cursor = [], None
    for _ in range(10):
        items, cursor = await listing(world, cursor)
        seen += items
        if cursor is None:
            break
    assert seen == ["a:a1", "b:b1", "b:b2", "b:b3"]


async def test_a_failing_upstream_leaves_the_others_listed():
    world = gateway(Upstream("a", [["a1"]], UpstreamError("down")), Upstream("b", [["b1"]]))
    assert await listing(world) == (["b:b1"], None)
    first_page_refusal = gateway(Upstream("a", [["a1"]], BadRequest("no")), Upstream("b", [["b1"]]))
    assert await listing(first_page_refusal) == (["b:b1"], None)  # not a cursor problem: no cursor was sent


async def test_an_upstream_refusing_its_own_cursor_is_a_stale_cursor():
    world = gateway(Upstream("a", [["a1"]], BadRequest("expired")))
    cursor = aggregate._encode(("a", "7"))
    with pytest.raises(MCPError) as refused:
        await listing(world, cursor)
    assert refused.value.error.code == -32602 and "expired" in refused.value.error.message


async def test_a_cursor_for_a_server_that_has_gone_is_refused():
    cursor = aggregate._encode(("gone", None))
    with pytest.raises(MCPError) as refused:
        await listing(gateway(Upstream("a", [["a1"]])), cursor)
    assert refused.value.error.code == -32602 and "'gone' no longer offers" in refused.value.error.message
