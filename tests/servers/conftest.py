"""`echo`: an HTTP MCP upstream (the trace echo server) on a free loopback port, for the test's duration."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import pytest

from tests.support.processes import ServerProcess, free_port


@pytest.fixture
async def echo() -> AsyncIterator[ServerProcess]:
    port = free_port()
    argv = [sys.executable, "-m", "tests.observability.trace_echo_server", "--port", str(port)]
    async with ServerProcess(argv, port=port) as server:
        yield server
