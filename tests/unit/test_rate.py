"""Rate strings: read as the `limits` library reads them, without importing it; its silent misreadings refused."""

from __future__ import annotations

import re

import pytest
from limits import parse

from mcp_guard.config import GatewayConfig
from mcp_guard.ratelimit.rate import parse_rate


@pytest.mark.parametrize(
    "text",
    [
        "100/minute",
        "1/second",
        "10 per 2 minutes",
        " 5 / SECOND ",
        "3/2hours",
        "7 per day",
        "1/months",
        "2/3 MONTHS",
        "1 per year",
        "0/second",
        "1000000000/hour",
    ],
)
def test_a_rate_means_what_limits_makes_of_it(text: str) -> None:
    rate, item = parse_rate(text), parse(text)
    assert (rate.amount, rate.seconds) == (item.amount, item.get_expiry())
    assert rate.item() == item
    assert parse_rate(str(rate)) == rate  # its own notation reads back


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1/second;5/minute", "one limit per rule"),
        ("1/second, 5/minute", "one limit per rule"),
        ("10/0 minutes", "a window of zero minutes"),
        ("10/fortnight", "unknown unit 'fortnight'; use one of second, minute, hour, day, month, year"),
        ("10/mins", "unknown unit 'mins'"),
        ("ten/minute", "is not a rate limit such as '100/minute'"),
        ("10 minutes", "is not a rate limit"),
        ("", "is not a rate limit"),
    ],
)
def test_what_is_not_one_rate_is_refused_by_name(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(repr(text))) as refused:
        parse_rate(text)
    assert problem in str(refused.value)


def test_the_configuration_names_the_field_and_the_problem() -> None:
    with pytest.raises(ValueError) as refused:
        GatewayConfig.model_validate({"rate_limits": {"rules": [{"limit": "5/minute;100/hour"}]}})
    assert "rate_limits.rules.0.limit" in str(refused.value)
    assert "one limit per rule" in str(refused.value)
