"""The official MCP conformance suite (npm `@modelcontextprotocol/conformance` 0.1.16, all 32 server
scenarios) against its reference server directly and through a single-upstream virtual server of the
gateway (`/mcp/s/conformance`, a keyed standalone gateway, every middleware on): every scenario that passes
directly passes through the gateway, except those listed in `NOT_YET`, which are strict expected failures
(this test fails when one starts passing, so the list is kept exact)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mcp_guard.auth.keys import generate_key, hash_key
from tests.support.conformance import Outcome, conformance_server, keyed_gateway, run_suite

pytestmark = pytest.mark.node  # the suite runs on node 22 from tests/node

NOT_YET: dict[str, str] = {}  # scenario → why it does not pass through the gateway yet (none left)
SCENARIOS = [  # `conformance list` 0.1.16, server scenarios
    "server-initialize", "logging-set-level", "ping", "completion-complete", "tools-list",
    "tools-call-simple-text", "tools-call-image", "tools-call-audio", "tools-call-embedded-resource",
    "tools-call-mixed-content", "tools-call-with-logging", "tools-call-error", "tools-call-with-progress",
    "tools-call-sampling", "tools-call-elicitation", "json-schema-2020-12", "elicitation-sep1034-defaults",
    "server-sse-polling", "server-sse-multiple-streams", "elicitation-sep1330-enums", "resources-list",
    "resources-read-text", "resources-read-binary", "resources-templates-read", "resources-subscribe",
    "resources-unsubscribe", "prompts-list", "prompts-get-simple", "prompts-get-with-args",
    "prompts-get-embedded-resource", "prompts-get-with-image", "dns-rebinding-protection",
]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Outcome], dict[str, Outcome]]]:
    """The suite's outcomes directly and through the gateway, each run once for the module."""
    key = generate_key()
    with conformance_server() as reference:
        direct = run_suite(reference.url)
        config = _gateway_config(tmp_path_factory.mktemp("conformance"), reference.url, key)
        with keyed_gateway(config, key) as gateway:
            through = run_suite(f"{gateway.url}/s/conformance", expected_failures=NOT_YET)
    yield direct, through


def _gateway_config(directory: Path, upstream: str, key: str) -> Path:
    document = {
        # the handshake era: the reference server asks for elicitation and sampling with requests on its session
        "servers": {"reference": {"transport": "http", "url": upstream, "protocol": "legacy"}},
        "virtual_servers": {"conformance": {"servers": ["reference"]}},
        "roles": {"user": {"tools": ["*"], "resources": ["*"], "prompts": ["*"]}},
        "keys": [{"name": "suite", "hash": hash_key(key), "roles": ["user"]}],
        "auth": {"store": "memory://"},
        "audit": {"sink": "memory://"},
    }
    path = directory / "gateway.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_counts(runs: tuple[dict[str, Outcome], dict[str, Outcome]]) -> None:
    direct, through = runs
    for name, outcomes in (("directly", direct), ("through the gateway", through)):
        passed = [scenario for scenario, outcome in outcomes.items() if outcome.ok]
        checks = sum(outcome.passed for outcome in outcomes.values())
        failed = sorted(set(outcomes) - set(passed))
        print(
            f"conformance {name}: {len(passed)} of {len(outcomes)} scenarios ({checks} checks passed); failed: {failed}"
        )
    assert sorted(direct) == sorted(SCENARIOS) == sorted(through)  # a new suite version's scenarios get listed
    assert [s for s, outcome in direct.items() if not outcome.ok] == []  # the reference server passes everything


@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=NOT_YET[s])) if s in NOT_YET else s
        for s in SCENARIOS
    ],
)
def test_scenario_passes_through_a_virtual_server(
    runs: tuple[dict[str, Outcome], dict[str, Outcome]], scenario: str
) -> None:
    direct, through = runs
    assert direct[scenario].ok, direct[scenario]
    assert through[scenario].ok, through[scenario]
