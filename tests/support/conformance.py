"""The official MCP conformance suite (npm `@modelcontextprotocol/conformance`, pinned in tests/node) and what
it runs against: the reference server (`examples/servers/conformance_server.py`) and a keyed gateway.

`run_suite(url)` runs every server scenario against an MCP endpoint under node 22 (`node22_executable`) and
returns each scenario's passed and failed check counts, read from the suite's summary lines
(`✓ tools-list: 1 passed, 0 failed`). A scenario passes when it has no failed check.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import NamedTuple

from .node import ensure_node_modules, node22_executable
from .processes import ServerProcess, free_port, kill_process_group

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "servers"
SUITE_SCRIPT = Path("@modelcontextprotocol") / "conformance" / "dist" / "index.js"
_SUMMARY_LINE = re.compile(r"^[✓✗] (?P<scenario>[\w./-]+): (?P<passed>\d+) passed, (?P<failed>\d+) failed$")
# What a run of one scenario (`--scenario NAME`) prints instead: `Passed: 1/1, 0 failed, 0 warnings`
_SINGLE_SUMMARY = re.compile(r"^Passed: (?P<passed>\d+)/\d+, (?P<failed>\d+) failed")


class Outcome(NamedTuple):
    """One scenario's checks; it passed when none failed (`ok`)."""

    passed: int
    failed: int

    @property
    def ok(self) -> bool:
        return self.failed == 0


def conformance_server() -> ServerProcess:
    """The reference server over streamable HTTP (`url` ends in /mcp)."""
    port = free_port()
    argv = [sys.executable, str(EXAMPLES_DIR / "conformance_server.py"), "--port", str(port)]
    return ServerProcess(argv, port=port, path="/mcp")


def keyed_gateway(config: Path, key: str) -> ServerProcess:
    """The standalone gateway from `config`, adding `key` to requests without one (`keyed_gateway.py`)."""
    port = free_port()
    argv = [sys.executable, "-m", "tests.support.keyed_gateway", str(config), "--port", str(port)]
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "MCP_GUARD_TEST_KEY": key, "PYTHONPATH": str(root)}
    return ServerProcess(argv, port=port, path="/mcp", env=env, cwd=root)


def run_suite(url: str, retries: int = 2, expected_failures: Collection[str] = ()) -> dict[str, Outcome]:
    """Every server scenario of the suite against `url`, by scenario name. A scenario that fails (and is not
    an expected failure) is run again alone, up to `retries` times: several of the suite's checks wait fixed
    times (200 ms for log messages, for instance), which a loaded machine can miss; a scenario that really
    fails fails every time."""
    outcomes = _run(url, ("--suite", "all"))
    for scenario in [name for name, outcome in outcomes.items() if not outcome.ok and name not in expected_failures]:
        for _attempt in range(retries):
            outcomes[scenario] = _run(url, ("--scenario", scenario), single=scenario)[scenario]
            if outcomes[scenario].ok:
                break
    return outcomes


def _run(url: str, selection: tuple[str, ...], timeout: float = 180.0, single: str | None = None) -> dict[str, Outcome]:
    """The suite's outcomes by scenario; `single` names the one scenario `selection` runs (its summary differs)."""
    script = ensure_node_modules() / SUITE_SCRIPT
    argv = [str(node22_executable()), str(script), "server", "--url", url, *selection]
    with tempfile.TemporaryDirectory() as work:  # the suite writes its result files under the working directory
        process = subprocess.Popen(
            argv, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            output, _ = process.communicate(timeout=timeout)
        finally:
            kill_process_group(process, grace=0)
    text = output.decode(errors="replace")
    pattern = _SUMMARY_LINE if single is None else _SINGLE_SUMMARY
    outcomes = {
        match.groupdict().get("scenario") or str(single): Outcome(int(match["passed"]), int(match["failed"]))
        for match in (pattern.match(line.strip()) for line in text.splitlines())
        if match is not None
    }
    if not outcomes:
        raise RuntimeError(f"the conformance suite printed no summary (exit {process.returncode}):\n{text[-3000:]}")
    return outcomes
