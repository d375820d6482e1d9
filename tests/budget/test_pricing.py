import pytest
from pydantic import ValidationError

from mcp_guard.budget import PricingConfig
from mcp_guard.names import ToolRef

PRICING = PricingConfig(
    default=0.5,
    servers={"github": 0.01, "search": 0.1},
    tools={
        "github/*": 0.02,
        "github/list_*": 0.03,
        "github/list_repos": 0.04,
        "*/query": 0.05,
    },
)


@pytest.mark.parametrize(
    ("ref", "cost"),
    [
        ("github/list_repos", 0.04),  # exact beats every glob
        ("github/list_issues", 0.03),  # the more specific glob
        ("github/create_issue", 0.02),  # a glob beats the server default
        ("search/web", 0.1),  # server default
        ("database/query", 0.05),  # a glob on another server's tool
        ("files/read", 0.5),  # default
    ],
)
def test_most_specific_price_wins(ref, cost):
    assert PRICING.cost_of(ToolRef.parse(ref)) == cost


def test_equally_specific_globs_go_by_written_order():
    first = PricingConfig(tools={"github/*": 0.02, "*/search": 0.05})
    second = PricingConfig(tools={"*/search": 0.05, "github/*": 0.02})
    assert first.cost_of(ToolRef("github", "search")) == 0.02
    assert second.cost_of(ToolRef("github", "search")) == 0.05


def test_a_bare_server_pattern_is_server_star_and_beats_the_server_default():
    pricing = PricingConfig(servers={"github": 0.01}, tools={"github": 0.07})
    assert pricing.cost_of(ToolRef("github", "anything")) == 0.07


def test_everything_is_free_by_default():
    assert PricingConfig().cost_of(ToolRef("a", "b")) == 0.0


@pytest.mark.parametrize(
    "bad",
    [
        {"tools": {"/nope": 1.0}},
        {"tools": {"github/x": -1.0}},
        {"servers": {"github": float("nan")}},
        {"default": -0.01},
        {"prices": {}},
    ],
)
def test_invalid_pricing_is_refused(bad):
    with pytest.raises(ValidationError):
        PricingConfig(**bad)


def test_pricing_is_frozen():
    with pytest.raises(ValidationError):
        PRICING.default = 1.0
