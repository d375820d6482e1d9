"""`mcp-guard serve` with the standard `OTEL_*` variables and the `otel` extra: `OTEL_TRACES_EXPORTER=console`
prints the spans of a call; without the variables no span is made."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx2
import yaml

from tests.support.processes import ServerProcess, free_port

from .world import World

ROOT = Path(__file__).resolve().parents[2]


def serve_once(tmp_path: Path, world: World, **env: str) -> str:
    """Start `mcp-guard serve`, make one call, stop it; everything it printed."""
    document = world.document()
    document["teams"]["red"] = {}
    document["servers"] = {"calc": {"transport": "inprocess", "target": "tests.servers.tools:calc"}}
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(document))
    port = free_port()
    argv = [sys.executable, "-m", "mcp_guard.cli", "serve", str(path), "--port", str(port), "--log-level", "warning"]
    process = ServerProcess(argv, port=port, env={"PYTHONPATH": str(ROOT), **env}, cwd=tmp_path, startup_timeout=60)
    with process:
        call = {"id": "1", "type": "function", "function": {"name": "calc__add", "arguments": {"a": 1, "b": 2}}}
        headers = {"authorization": f"Bearer {world.worker}", "traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01"}
        response = httpx2.post(f"{process.base_url}/mcp/tool/execute", json=call, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
    return process.output


def test_console_exporter_prints_the_spans(tmp_path: Path) -> None:
    printed = serve_once(tmp_path, World(), OTEL_TRACES_EXPORTER="console", OTEL_SERVICE_NAME="gw-test")
    for name in ('"name": "POST"', '"name": "execute_tool calc__add"', '"mcp_guard.upstream.transport": "inprocess"'):
        assert name in printed, printed[-3000:]
    assert '"trace_id": "0xabababababababababababababababab"' in printed  # the client's trace, continued
    assert '"service.name": "gw-test"' in printed


def test_no_spans_without_the_variables(tmp_path: Path) -> None:
    printed = serve_once(tmp_path, World(), OTEL_TRACES_EXPORTER="none")
    assert "execute_tool" not in printed
