"""The chat settings validate like the rest of the configuration (errors name the field), and price models."""

import pytest

from mcp_guard.chat.config import ModelPrice, ProviderConfig
from mcp_guard.config import parse_config
from mcp_guard.errors import ConfigError


def test_a_full_chat_configuration_parses():
    config = parse_config(
        {
            "servers": {
                "notes": {"transport": "http", "url": "http://x/mcp", "auto_execute": ["list_*"], "confirm": True}
            },
            "llm": {
                "providers": {
                    "openai": {
                        "base_url": "https://api.openai.com/v1",
                        "api_key_env": "OPENAI_API_KEY",
                        "pricing": {"gpt-4.1": {"input": 2, "output": 8}, "gpt-4.1-*": {"input": 0.4, "output": 1.6}},
                        "budget": {"limit": 100, "period": "1M"},
                    }
                },
                "token_limits": {
                    "rules": [{"limit": "200000/hour"}, {"team": "t", "per": "team", "limit": "1000/day"}]
                },
            },
            "agent": {"max_depth": 4, "keys": {"bot": ["notes/*"]}},
            "confirmations": {"ttl_seconds": 60},
        }
    )
    assert config.agent.max_depth == 4 and config.confirmations.ttl_seconds == 60
    assert config.server("notes").confirm is True


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"llm": {"providers": {"open/ai": {"base_url": "x"}}}}, "llm.providers"),
        ({"llm": {"token_limits": {"rules": [{"limit": "lots"}]}}}, "llm.token_limits.rules.[0].limit"),
        ({"agent": {"keys": {"bot": ["/"]}}}, "agent.keys"),
        ({"agent": {"max_depth": 0}}, "agent.max_depth"),
        ({"confirmations": {"storage": "mongodb://x"}}, "confirmations.storage"),
    ],
)
def test_mistakes_name_the_field(document, field):
    with pytest.raises(ConfigError) as error:
        parse_config(document)
    assert f"  {field}" in str(error.value)


def test_exact_model_prices_beat_globs_and_unpriced_models_cost_nothing():
    provider = ProviderConfig(
        base_url="x",
        pricing={"gpt-4.1-*": ModelPrice(input=0.4, output=1.6), "gpt-4.1-nano": ModelPrice(input=0.1, output=0.4)},
        models=["gpt-4.1*"],
    )
    assert provider.price("gpt-4.1-nano") == ModelPrice(input=0.1, output=0.4)
    assert provider.price("gpt-4.1-mini").cost(1_000_000, 500_000) == pytest.approx(0.4 + 0.8)
    assert provider.price("other") is None
    assert provider.allows("gpt-4.1-mini") and not provider.allows("o3")
