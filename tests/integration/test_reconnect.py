"""How an upstream is reconnected: the log says the delay really waited, a waiting call brings the attempt
forward, and health checks of a handshake-era server raise no deprecation warning."""

import logging
import sys
import time
import warnings

import anyio
import pytest
from mcp.shared.exceptions import MCPDeprecationWarning

from mcp_guard import ServerConfig
from mcp_guard.errors import UpstreamError
from tests.support.servers import notes_stdio_params

from .upstream_fixtures import gateway_for, stdio_config

pytestmark = pytest.mark.anyio


def failing(name: str = "broken") -> ServerConfig:
    """A stdio server that exits at once: every attempt fails."""
    return ServerConfig(name=name, transport="stdio", command=sys.executable, args=["-c", "raise SystemExit(3)"])


async def test_the_log_says_the_delay_it_waits(caplog):
    with caplog.at_level(logging.WARNING, logger="mcp_guard.upstreams.client"):
        async with gateway_for(failing()):
            with anyio.fail_after(10):
                while sum("reconnecting in" in r.getMessage() for r in caplog.records) < 3:
                    await anyio.sleep(0.02)
    logged = [r for r in caplog.records if "reconnecting in" in r.getMessage()][:3]
    assert [r.getMessage().split("reconnecting in ")[1].split(" s")[0] for r in logged] == ["1", "2", "4"]
    gaps = [later.created - earlier.created for earlier, later in zip(logged, logged[1:], strict=False)]
    for said, gap in zip((1.0, 2.0), gaps, strict=True):
        assert said <= gap < said + 1.5, gaps  # waited what it said (plus one failed start)


async def test_a_call_brings_the_next_attempt_forward():
    async with gateway_for(failing()) as gateway:
        upstream = gateway.upstreams["broken"]
        await anyio.sleep(0.6)  # past the spacing between attempts a waiting call may ask for
        attempts = upstream.status.reconnects
        started = time.monotonic()
        with pytest.raises(UpstreamError, match="exited with code 3|Connection closed|disconnected"):
            await upstream.call("anything", {})
        assert time.monotonic() - started < 1.0  # it waited for one attempt, not for the 1 s backoff
        assert upstream.status.reconnects == attempts + 1


async def test_health_checks_of_a_handshake_era_server_warn_nothing():
    config = stdio_config("notes", notes_stdio_params(), protocol="legacy", health_interval=0.1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with gateway_for(config) as gateway:
            upstream = gateway.upstreams["notes"]
            assert upstream.status.protocol_version == "2025-11-25"
            checked = upstream.status.last_check
            with anyio.fail_after(5):
                while upstream.status.last_check == checked:  # a health check has run since
                    await anyio.sleep(0.05)
            await anyio.sleep(0.3)
            assert upstream.status.state == "connected"
    assert [w for w in caught if issubclass(w.category, MCPDeprecationWarning)] == []
