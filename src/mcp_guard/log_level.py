"""The log level a 2026-07-28 client asked for on its request (`_meta` `io.modelcontextprotocol/logLevel`),
carried to the upstream calls made for it.

2026-07-28 has no `logging/setLevel`: a server sends `notifications/message` for a request only when the
request's `_meta` names a level. A 2026-07-28 upstream therefore logs nothing to the gateway unless the
gateway's own call asks for it. The MCP endpoint knows the client's level, the upstream connection makes
the call, and the pipeline between them has no business with either: the endpoint sets the level for the
duration of the call (`wanting_logs`) and the upstream connection reads it (`wanted_log_level`), as it
does the progress sink (`progress.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import mcp_types as types

_LEVEL: ContextVar[types.LoggingLevel | None] = ContextVar("mcp_guard_log_level", default=None)


@contextmanager
def wanting_logs(level: types.LoggingLevel | None) -> Iterator[None]:
    """Ask the upstreams called inside the block for log messages at `level` and above (None: none)."""
    token = _LEVEL.set(level)
    try:
        yield
    finally:
        _LEVEL.reset(token)


def wanted_log_level() -> types.LoggingLevel | None:
    return _LEVEL.get()
