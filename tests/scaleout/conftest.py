"""Four gateway processes sharing the machine's Redis and PostgreSQL, started once for the folder.

Each test uses its own key (and so its own counters and audit records); the fault test starts its own
processes behind proxies. Everything the run wrote to Redis and PostgreSQL is removed at the end.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

DRIVERS = {"redis": "redis", "psycopg": "postgres"}  # module → the extra that installs it
MISSING = [module for module in DRIVERS if importlib.util.find_spec(module) is None]
if MISSING:
    # Nothing here can run without both drivers; say so in the header instead of failing to import.
    collect_ignore_glob = ["test_*.py"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MISSING:
        extras = ",".join(DRIVERS[module] for module in MISSING)
        terminalreporter.write_line(
            f"tests/scaleout not collected: {MISSING!r} not installed (pip install 'mcp-guard[{extras}]')"
        )


if not MISSING:
    from tests.support.processes import ServerProcess

    from .cluster import Deployment, stop
    from .services import POSTGRES_URL, REDIS_URL, require

PROCESSES = 4


@dataclass
class Cluster:
    deployment: Deployment
    processes: list[ServerProcess]


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require(REDIS_URL)
    require(POSTGRES_URL)
    deployment = Deployment()
    processes = deployment.start(tmp_path_factory.mktemp("cluster"), PROCESSES)
    try:
        yield Cluster(deployment, processes)
    finally:
        stop(processes)
        deployment.cleanup()
