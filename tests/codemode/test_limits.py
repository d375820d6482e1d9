"""Per-run limits per role, team and key: how they combine, how they are checked, and the documented example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from mcp_guard import GatewayConfig
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.auth.resolver import KeyResolver
from mcp_guard.auth.store import MemoryKeyStore
from mcp_guard.codemode import CodeModeSettings
from mcp_guard.codemode.settings import merge_limit_overrides

DOC = Path(__file__).resolve().parents[2] / "docs" / "code-mode.md"


def test_roles_grant_the_most_generous_value_then_team_then_key_replace() -> None:
    merged = merge_limit_overrides(
        [{"max_tool_calls": 100, "timeout_seconds": 10}, {"max_tool_calls": 500}, None],
        {"max_tool_calls": 20},
        {"timeout_seconds": 5},
    )
    assert merged == (("max_tool_calls", 20), ("timeout_seconds", 5))
    settings = CodeModeSettings().limits_for(merged)
    assert (settings.max_tool_calls, settings.timeout_seconds, settings.cpu_seconds) == (20, 5, 10.0)
    assert CodeModeSettings().limits_for(()) == CodeModeSettings()


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"timeout_secs": 5}, "unknown Code Mode limit.s. 'timeout_secs'; known: cpu_seconds"),
        ({"workers": 8}, "unknown Code Mode limit.s. 'workers'"),  # pool settings are gateway-wide
        ({"max_tool_calls": -1}, "greater than or equal to 0"),
        ({"max_tool_calls": 2.5}, "valid integer"),
    ],
)
def test_bad_overrides_are_configuration_errors(limits: dict[str, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GatewayConfig.model_validate({"roles": {"dev": {"code_mode_limits": limits}}})


def test_the_documented_example_configures_what_it_says() -> None:
    (block,) = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.DOTALL)
    document = yaml.safe_load(block)
    key = generate_key()
    document["keys"] = [{"name": "ana", "hash": hash_key(key), "roles": ["analyst"], "team": "interns"}]
    config = GatewayConfig.model_validate(document)
    principal = KeyResolver(config, MemoryKeyStore()).authenticate(key).principal
    settings = config.code_mode.limits_for(principal.code_mode_limits)
    assert (settings.timeout_seconds, settings.cpu_seconds, settings.max_tool_calls) == (120, 60, 20)
