"""`ToolCall`: one attempt to use an upstream item (call a tool, read a resource, get a prompt, complete an
argument), the record the pipeline's stages (`pipeline.py`), the observers and the budget share.

Its own module so what observes a call need not import the pipeline that runs it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .catalog import CatalogEntry
from .names import Ref
from .state import RequestState, new_id


@dataclass(slots=True)
class ToolCall:
    """One attempt to call a tool (or to read a resource, get a prompt, complete an argument: `method`), as
    it moves through the stages."""

    name: str  # as the caller wrote it: an exposed name or `server/tool`; for other methods, what the audit shows
    arguments: dict[str, Any]
    state: RequestState
    entry_point: str = "mcp"  # mcp | rest | code | agent
    mode: str = "manual"  # manual | agent | code
    parent_id: str | None = None
    id: str = field(default_factory=new_id)
    started: float = field(default_factory=time.perf_counter)
    tool: CatalogEntry | None = None  # set once resolved (tools only)
    cost: float = 0.0  # set by the budget stage
    item: Ref | None = None  # set once resolved (other methods; a task's tool for `tasks/*`)
    method: str = "tools/call"
    refund_if_failed: bool = False  # set by the budget stage: a failed call is then recorded at no cost
    ended: float | None = None  # epoch seconds: the audit record's time, at which the budget books the cost
    server: str | None = None  # the upstream of a use that names no item of it (a relayed elicitation)

    @property
    def ref(self) -> Ref | None:
        """What the call uses, once resolved: what guards and reports go by."""
        return self.tool.ref if self.tool is not None else self.item

    def target(self) -> tuple[str, str]:
        """(server, name) as the audit log and call log show them; server "" when never resolved."""
        ref = self.ref
        if self.method != "tools/call":
            return (ref.server if ref is not None else self.server or ""), self.name
        server, _, tool = (str(ref) if ref is not None else self.name).partition("/")
        return (server, tool) if tool else ("", self.name)
