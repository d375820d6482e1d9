"""Hostile filter headers: a malformed entry or one past a bound is a 400 naming it, and what the middleware
keeps of the headers it has seen stays within its memory budget."""

import tracemalloc

import pytest

from mcp_guard.filters import MAX_FILTER_BYTES, MAX_PATTERNS, HeaderFilter
from mcp_guard.middleware.header_filter import _CACHE_BYTES, HeaderFilterMiddleware

from .asgi_helpers import Downstream, Recorder, make_scope, no_body

pytestmark = pytest.mark.anyio


async def answer(*headers: tuple[str, str]) -> tuple[Recorder, Downstream]:
    inner, sent = Downstream(), Recorder()
    await HeaderFilterMiddleware(inner)(make_scope(headers=list(headers)), no_body, sent)
    return sent, inner


@pytest.mark.parametrize("entry", ["a/", "/b", "/", "database/query, /", "*/"])
@pytest.mark.parametrize("header", ["x-mcp-include-tools", "x-mcp-exclude-tools"])
async def test_a_malformed_entry_is_a_400_that_names_it(header, entry):
    sent, inner = await answer((header, entry))
    assert sent.status == 400 and inner.scope is None
    problem = sent.json
    assert problem["type"] == "urn:mcp-guard:problem:bad_request" and header in problem["detail"]
    bad = [e.strip() for e in entry.split(",") if e.strip() != "database/query"][0]
    assert problem["entry"] == bad and repr(bad) in problem["detail"]


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ([("x-mcp-include-tools", "a" * (MAX_FILTER_BYTES + 1))], f"the limit is {MAX_FILTER_BYTES}"),
        ([("x-mcp-include-tools", ",".join(f"s/t{n}" for n in range(MAX_PATTERNS + 1)))], f"limit is {MAX_PATTERNS}"),
        # the bounds hold over repeated lines and all filter headers together
        ([("x-mcp-include-clients", "x" * 5000), ("x-mcp-exclude-tools", "y" * 5000)], "8192"),
    ],
)
async def test_oversized_filters_are_refused(headers, says):
    sent, inner = await answer(*headers)
    assert sent.status == 400 and inner.scope is None and says in sent.json["detail"]


async def test_well_formed_filters_still_pass():
    sent, inner = await answer(("x-mcp-include-tools", ",".join(f"s/t{n}" for n in range(MAX_PATTERNS))))
    assert sent.status == 204 and inner.scope is not None


def test_a_filters_weight_is_about_what_it_keeps_alive():
    import re

    value = ",".join(f"server/tool_{k}_*" for k in range(MAX_PATTERNS))
    re.purge()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        rule = HeaderFilter.from_scope(make_scope(headers=[("x-mcp-include-tools", value)]))
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert rule is not None and rule.footprint / 2 <= kept <= 2 * rule.footprint, (kept, rule.footprint)


async def test_distinct_large_filters_stay_within_the_cache_budget():
    """Each request a different header near the size limit: the filters kept stay under budget."""
    middleware = HeaderFilterMiddleware(Downstream())
    for n in range(200):
        value = ",".join(f"server{n}/a_rather_long_tool_name_{k}" for k in range(MAX_PATTERNS))
        await middleware(make_scope(headers=[("x-mcp-include-tools", value)]), no_body, Recorder())
    assert 0 < middleware._filters.used <= _CACHE_BYTES
    assert 20 < len(middleware._filters) < 200  # the oldest went


def test_parsing_the_largest_filter_is_cheap_enough():
    """The bound on CPU: the largest allowed header (all globs) parses in well under 50 ms."""
    import re
    import time

    value = ",".join(f"srv{n}/tool_*_{n}" for n in range(MAX_PATTERNS))
    re.purge()
    started = time.perf_counter()
    HeaderFilter.from_scope(make_scope(headers=[("x-mcp-include-tools", value)]))
    assert time.perf_counter() - started < 0.05
