"""`mcp-guard servers …` and `mcp-guard reload` against a running `mcp-guard serve`."""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from mcp_guard.cli import _parser
from tests.observability.world import World
from tests.support.processes import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def cli(*args: str, key: str, url: str) -> Ran:
    """One `mcp-guard` command run in this process (the gateway is another process, so blocking is fine)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        parsed = _parser().parse_args([*args, "--url", url, "--key", key])
        code = int(parsed.run(parsed) or 0)
    return Ran(code, out.getvalue(), err.getvalue())


@pytest.mark.anyio
async def test_servers_commands(tmp_path: Path, echo: ServerProcess) -> None:
    world = World()
    document = world.document()
    document["teams"]["red"] = {}
    document["servers"] = {"calc": {"transport": "inprocess", "target": "tests.servers.tools:calc"}}
    document["auth"] = {"store": f"sqlite:///{tmp_path}/keys.db"}
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(document))
    port = free_port()
    argv = [sys.executable, "-m", "mcp_guard.cli", "serve", str(path), "--port", str(port)]
    async with ServerProcess(argv, port=port, env={"PYTHONPATH": str(ROOT)}, cwd=tmp_path, startup_timeout=60) as gw:
        url, key = gw.base_url, world.admin
        added = cli("servers", "add", "echo", "--set", "transport=http", "--set", f"url={echo.url}", key=key, url=url)
        assert added.returncode == 0, added.stderr
        assert json.loads(added.stdout)["source"] == "runtime"
        listed = cli("servers", "list", key=key, url=url)
        assert listed.returncode == 0 and {line.split()[0] for line in listed.stdout.splitlines()} == {"calc", "echo"}
        updated = cli("servers", "update", "echo", "--set", "call_timeout=9", key=key, url=url)
        assert updated.returncode == 0 and json.loads(updated.stdout)["config"]["call_timeout"] == 9
        refused = cli("servers", "remove", "calc", key=key, url=url)
        assert refused.returncode == 1 and "409" in refused.stderr and "configuration file" in refused.stderr
        assert cli("servers", "disable", "calc", key=key, url=url).returncode == 0
        assert cli("servers", "remove", "echo", key=key, url=url).returncode == 0
        reloaded = cli("reload", key=key, url=url)
        assert reloaded.returncode == 0 and json.loads(reloaded.stdout)["reloaded"] == str(path)
        wrong = cli("servers", "list", key="mcpg_nope", url=url)
        assert wrong.returncode == 1 and "401" in wrong.stderr
