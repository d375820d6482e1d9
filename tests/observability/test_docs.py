"""The YAML in docs/operations.md is a configuration that loads as written."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from mcp_guard.config import parse_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def test_every_yaml_block_loads() -> None:
    blocks = re.findall(r"^```yaml\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)
    assert blocks
    for block in blocks:
        config = parse_config(yaml.safe_load(block), source="docs/operations.md")
        assert config.budgets.alerts.thresholds == [50, 80, 100]
        assert config.observability.readiness.upstreams == "any"
