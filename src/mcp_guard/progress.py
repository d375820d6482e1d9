"""Progress of a tool call, relayed from its upstream to the client that made the call.

The MCP endpoint knows the client's progress token and how to reach its stream; the upstream connection
knows how to ask its server for progress. Between them runs the pipeline, which has no business with
either, so the endpoint sets a `ProgressSink` for the duration of the call (`reporting`) and the upstream
reads it (`current_sink`). No sink (the client sent no progress token, or the call did not come through
the MCP endpoint): the upstream call is made exactly as before, without a token.

Tokens never collide: the upstream connection gives each request a token of its own (the SDK uses the
request id), and the sink closes over the one client's own token; the two never meet on one wire.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol


class ProgressSink(Protocol):
    """Called for each progress notification the upstream sends about the call."""

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None: ...


_SINK: ContextVar[ProgressSink | None] = ContextVar("mcp_guard_progress_sink", default=None)


@contextmanager
def reporting(sink: ProgressSink | None) -> Iterator[None]:
    """Relay the progress of upstream calls made inside the block to `sink` (None: relay none)."""
    token = _SINK.set(sink)
    try:
        yield
    finally:
        _SINK.reset(token)


def current_sink() -> ProgressSink | None:
    return _SINK.get()
