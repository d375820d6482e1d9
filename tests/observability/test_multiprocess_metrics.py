"""Two `mcp-guard serve` processes sharing `PROMETHEUS_MULTIPROC_DIR`: either one's `/metrics` reports the
calls of both (prometheus-client's multi-process mode), live values per process."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import httpx2
import yaml

from tests.support.processes import ServerProcess, free_port

from .world import World, samples, value

ROOT = Path(__file__).resolve().parents[2]


def test_workers_share_their_counters(tmp_path: Path) -> None:
    world = World()
    document = world.document()
    document["teams"]["red"] = {}
    document["servers"] = {"calc": {"transport": "inprocess", "target": "tests.servers.tools:calc"}}
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(document))
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {"PYTHONPATH": str(ROOT), "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    workers = []
    for _ in range(2):
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "mcp_guard.cli",
            "serve",
            str(path),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        workers.append(ServerProcess(argv, port=port, env=env, cwd=tmp_path, startup_timeout=60))
    threads = [threading.Thread(target=worker.start) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert all(worker.running for worker in workers)
        headers = {"authorization": f"Bearer {world.worker}"}
        call = {"id": "1", "type": "function", "function": {"name": "calc__add", "arguments": {"a": 1, "b": 2}}}
        with httpx2.Client(timeout=10) as http:
            for index, worker in enumerate(workers):
                for _ in range(index + 2):  # 2 calls on the first, 3 on the second
                    assert (
                        http.post(f"{worker.base_url}/mcp/tool/execute", json=call, headers=headers).status_code == 200
                    )
            scrape = samples(http.get(f"{workers[0].base_url}/metrics").text)
    finally:
        for worker in workers:
            worker.stop()
    assert value(scrape, "mcp_guard_tool_calls_total", server="calc", tool="add", outcome="ok", entry="rest") == 5
    states = [
        labels for name, labels in scrape if name == "mcp_guard_upstream_state" and ("state", "connected") in labels
    ]
    assert len({dict(labels)["pid"] for labels in states}) == 2  # each worker's live state, by pid
