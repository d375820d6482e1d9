"""The budget stage inside the real pipeline: charged, refunded, refused, and audited as such."""

import mcp_types as types
import pytest

from mcp_guard.budget import BudgetGuard
from mcp_guard.budget.storage.memory import MemoryLedger
from mcp_guard.catalog import Catalog
from mcp_guard.config import GatewayConfig
from mcp_guard.errors import BudgetExceeded
from mcp_guard.pipeline import Pipeline
from mcp_guard.state import RequestState

from .test_guard import PRICING, PRINCIPAL

pytestmark = pytest.mark.anyio


class ScriptedUpstream:
    """Answers `search` and `big` with text, `fail` with an `is_error` result."""

    async def call(self, tool, arguments):
        return types.CallToolResult(content=[types.TextContent(type="text", text=tool)], is_error=tool == "fail")


class Recorder:
    def __init__(self):
        self.records = []

    async def record(self, record):
        self.records.append(record)


@pytest.fixture
def pipeline(clock):
    catalog = Catalog(GatewayConfig())
    catalog.update_server(
        "github", [types.Tool(name=n, input_schema={"type": "object"}) for n in ("search", "fail", "big")]
    )
    return Pipeline(catalog, {"github": ScriptedUpstream()}, clock=clock)


@pytest.fixture
def state(clock):
    budget = BudgetGuard(MemoryLedger(), PRICING.model_copy(update={"default": 0.02}), clock=clock)
    return RequestState(principal=PRINCIPAL, budget=budget, audit=Recorder())


async def test_calls_are_charged_refunded_and_refused_through_the_pipeline(pipeline, state):
    await pipeline.call(state, "github/search", {})
    await pipeline.call(state, "github/fail", {})
    with pytest.raises(BudgetExceeded):  # $0.02 + $9.99 is over the team's $10.00
        await pipeline.call(state, "github/big", {})
    assert [(r.tool, r.outcome, r.cost) for r in state.audit.records] == [
        ("search", "ok", 0.02),
        ("fail", "tool_error", 0.0),  # refunded
        ("big", "denied", 0.0),
    ]
    assert state.audit.records[-1].reason == "budget_exceeded"
    assert [row["spent"] for row in await state.budget.status(PRINCIPAL.budgets)] == [0.02, 0.02, 0.02]
