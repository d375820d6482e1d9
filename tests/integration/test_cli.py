"""The `mcp-guard` command as a user runs it: demo, serve and check, in real processes."""

import subprocess
import sys

import httpx2
import pytest
import yaml

from mcp_guard.auth.keys import generate_key
from tests.support.processes import ServerProcess, free_port
from tests.support.servers import notes_stdio_params

from .upstream_fixtures import keyed_client, process_alive, wait_until

pytestmark = pytest.mark.anyio

CLI = [sys.executable, "-m", "mcp_guard.cli"]


async def test_demo_serves_demo_tools_and_the_example_server(tmp_path):
    port = free_port()
    key = generate_key()
    argv = [*CLI, "demo", "--port", str(port), "--data-dir", str(tmp_path)]
    async with ServerProcess(argv, port=port, path="/mcp", env={"MCP_GUARD_DEMO_KEY": key}) as demo:
        anonymous = httpx2.get(f"{demo.url}/tools")
        assert anonymous.status_code == 401
        async with keyed_client(demo.url, key) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert {"demo__convert_currency", "demo__word_count", "notes__add_note"} <= names
            counted = await client.call_tool("demo__word_count", {"text": "hello gateway world"})
            assert counted.structured_content == {"words": 3, "characters": 19}
            child = (await client.call_tool("notes__pid", {})).structured_content["result"]
    assert f"http://127.0.0.1:{port}/mcp" in demo.output  # the demo prints its MCP URL
    assert key in demo.output  # and its admin key
    assert (tmp_path / "audit.db").exists()  # embedded SQLite audit
    # SIGTERM to the gateway stops its stdio child too (the child runs in its own process group)
    await wait_until(lambda: not process_alive(child), 5, f"stdio child {child} to exit with the gateway")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60)


def test_check_accepts_a_valid_config_and_connects(tmp_path):
    notes = notes_stdio_params()
    path = tmp_path / "gateway.yaml"
    path.write_text(
        yaml.safe_dump({"servers": {"notes": {"transport": "stdio", "command": notes.command, "args": notes.args}}})
    )
    checked = run_cli("check", str(path), "--connect")
    assert checked.returncode == 0, checked.stderr
    assert "configuration OK: 1 server(s)" in checked.stdout
    assert "connected" in checked.stdout


def test_check_names_the_bad_field(tmp_path):
    path = tmp_path / "gateway.yaml"
    path.write_text("servers:\n  notes:\n    transport: stdio\n    command: x\n    call_timeout: soon\n")
    checked = run_cli("check", str(path))
    assert checked.returncode == 2
    assert str(path) in checked.stderr
    assert "servers.notes.call_timeout: Input should be a valid number" in checked.stderr


def test_check_reads_the_audit_checkpoint_key(tmp_path):
    path = tmp_path / "gateway.yaml"
    audit = {"sink": f"sqlite:///{tmp_path / 'audit.db'}", "checkpoints": {"key_file": str(tmp_path / "key")}}
    path.write_text(yaml.safe_dump({"audit": audit}))
    missing = run_cli("check", str(path))
    assert missing.returncode == 2 and "checkpoint key file" in missing.stderr and "key'" in missing.stderr
    (tmp_path / "key").write_text("0123456789abcdef" * 4)
    checked = run_cli("check", str(path))
    assert checked.returncode == 0, checked.stderr
    assert (
        "audit checkpoints: key hmac:" in checked.stdout
        and "(hmac-sha256), every 1000 records or 60 s" in checked.stdout
    )


def test_check_reports_an_unreachable_upstream(tmp_path):
    path = tmp_path / "gateway.yaml"
    url = f"http://127.0.0.1:{free_port()}/mcp"
    path.write_text(yaml.safe_dump({"servers": {"down": {"transport": "http", "url": url, "connect_timeout": 1}}}))
    checked = run_cli("check", str(path), "--connect")
    assert checked.returncode == 1
    assert "disconnected" in checked.stdout or "connecting" in checked.stdout


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_serve_warns_loudly_when_no_key_can_pass(tmp_path, workers):
    path = tmp_path / "gateway.yaml"
    shared = {"confirmations": {"storage": "redis://127.0.0.1:6379/0"}} if workers != "1" else {}
    path.write_text(yaml.safe_dump({"auth": {"store": f"sqlite:///{tmp_path / 'keys.db'}"}, **shared}))
    port = free_port()
    argv = [*CLI, "serve", str(path), "--port", str(port), "--workers", workers]
    async with ServerProcess(argv, port=port, path="/mcp") as server:
        assert httpx2.get(f"{server.url}/tools", headers={"x-api-key": generate_key()}).status_code == 401
        log = server.log()
    assert "defines no keys and the key store" in log and "EVERY request to /mcp will be refused with 401" in log
    assert "mcp-guard keys create admin --roles admin" in log
    assert log.count("defines no keys") == 1  # under --workers: said by the supervisor, not by each worker
