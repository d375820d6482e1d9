"""The browser tests' set-up: Debian's Chromium (`scripts/browser.sh` gets it on first use) and a real
`mcp-guard serve` with a few servers, keys, teams and a week of audit history to chart."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
import yaml

from mcp_guard.audit.config import AuditSettings
from mcp_guard.audit.log import AuditLog
from mcp_guard.audit.record import AuditRecord
from mcp_guard.auth.keys import generate_key, hash_key
from tests.servers.conftest import echo  # noqa: F401 - an HTTP upstream to add at runtime
from tests.support.processes import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
NOTES = ROOT / "examples" / "servers" / "notes_server.py"


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of a Chromium for Playwright's `executable_path`. If none can be had, the test is skipped
    outside CI with the script's reason; in CI (`CI=true`) it fails, so a missing browser is never silent."""
    script = ROOT / "scripts" / "browser.sh"
    done = subprocess.run([str(script)], capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        reason = f"no Chromium for the browser tests: {done.stderr.strip() or 'scripts/browser.sh printed nothing'}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return done.stdout.strip().splitlines()[-1]


@dataclass
class Dashboard:
    url: str  # e.g. http://127.0.0.1:8123 — the dashboard is at /ui/ and /mcp/ui/
    admin: str
    worker: str


def _config(tmp: Path, admin: str, worker: str, dead_port: int) -> dict[str, object]:
    return {
        "servers": {
            "demo": {"transport": "inprocess", "target": "mcp_guard.demo:demo_tools"},
            "notes": {"transport": "stdio", "command": sys.executable, "args": [str(NOTES), "--transport", "stdio"]},
            "search": {"transport": "http", "url": f"http://127.0.0.1:{dead_port}/mcp", "connect_timeout": 2},
        },
        "roles": {
            "admin": {"tools": ["*"], "admin": True},
            "analyst": {"tools": ["demo/*", "notes/list_notes"]},
            "writer": {"tools": ["notes/*", "demo/word_count"]},
        },
        "customers": {"acme": {"budget": {"limit": 50, "period": "1M", "calendar": True}}},
        "teams": {
            "platform": {"customer": "acme", "budget": {"limit": 20, "period": "1M", "calendar": True}},
            "research": {"customer": "acme", "budget": {"limit": 5, "period": "1w"}, "deny": ["notes/delete_*"]},
        },
        "keys": [
            {"name": "ops-admin", "hash": hash_key(admin), "roles": ["admin"], "team": "platform"},
            {"name": "analyst-bot", "hash": hash_key(worker), "roles": ["analyst"], "team": "research"},
        ],
        "rate_limits": {"rules": [{"role": "analyst", "tools": "demo/*", "limit": "60/minute"}]},
        "pricing": {"servers": {"notes": 0.01}, "tools": {"demo/convert_currency": 0.02, "demo/word_count": 0.005}},
        "auth": {"store": f"sqlite:///{tmp}/keys.db"},
        "budgets": {"storage": f"sqlite:///{tmp}/budgets.db"},
        "audit": {"sink": f"sqlite:///{tmp}/audit.db", "redact": ["password", "token"]},
    }


def allowed(key: str, team: str, cost: float) -> dict[str, object]:
    """The fields of an allowed REST call by `key` of `team` (customer acme) that cost `cost`."""
    fields = {"decision": "allowed", "outcome": "ok", "key_id": key, "key_name": key, "team": team}
    return {**fields, "customer": "acme", "arguments": {"seeded": True}, "cost": cost, "entry": "rest"}


def took(day: int, call: int) -> float:
    """A plausible duration (ms) for a seeded call: a few milliseconds, now and then tens."""
    return 1.5 + (day * 7 + call * 5) % 9 + (25.0 if (day + call) % 6 == 0 else 0.0)


def _history(now: float) -> list[AuditRecord]:
    """A week of calls by two teams over three tools, so the spend chart has lines to draw."""
    plan = [
        ("ops-admin", "platform", "demo", "convert_currency", 0.02),
        ("analyst-bot", "research", "demo", "word_count", 0.005),
        ("analyst-bot", "research", "notes", "list_notes", 0.01),
    ]
    records = []
    for day in range(7, 0, -1):
        for index, (key, team, server, tool, cost) in enumerate(plan):
            for call in range((day * (index + 2)) % 5 + 1):
                when = now - day * 86_400 + index * 3600 + call * 60
                seed = f"{day}-{index}-{call}"
                records.append(
                    AuditRecord(
                        when,
                        f"seed-{seed}",
                        f"call-{seed}",
                        server,
                        tool,
                        duration_ms=took(day, call),
                        **allowed(key, team, cost),
                    )
                )
    return records


async def _seed(sink: str, records: list[AuditRecord]) -> None:
    log = AuditLog.from_settings(AuditSettings(sink=sink))
    async with log.running():
        for record in records:
            await log.record(record)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    tmp = tmp_path_factory.mktemp("dashboard")
    admin, worker = generate_key(), generate_key()
    config = _config(tmp, admin, worker, free_port())
    (tmp / "gateway.yaml").write_text(yaml.safe_dump(config))
    anyio.run(_seed, f"sqlite:///{tmp}/audit.db", _history(time.time()))
    port = free_port()
    argv = [sys.executable, "-m", "mcp_guard.cli", "serve", str(tmp / "gateway.yaml"), "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with ServerProcess(argv, port=port, cwd=ROOT, env=env, startup_timeout=60):
        yield Dashboard(f"http://127.0.0.1:{port}", admin, worker)
