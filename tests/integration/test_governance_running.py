"""Governance components run their background parts whenever they are created: before the gateway's
lifespan starts (the standalone app) or after it (a host app that builds a middleware late)."""

import sqlite3
from contextlib import closing

import anyio
import pytest

from mcp_guard import Gateway
from mcp_guard.config import parse_config
from mcp_guard.middleware import AuditMiddleware
from mcp_guard.state import RequestState

from .gateway_fixtures import make_tools

pytestmark = pytest.mark.anyio
CALLS = 20


def audited_gateway(tmp_path) -> Gateway:
    config = parse_config({"audit": {"sink": f"sqlite:///{tmp_path / 'audit.db'}"}})
    return Gateway(config, inprocess=[make_tools()])


def stored(tmp_path) -> list[str]:
    with closing(sqlite3.connect(tmp_path / "audit.db")) as db:
        return [row[0] for row in db.execute("SELECT tool FROM audit_log ORDER BY seq")]


async def make_calls(gateway: Gateway) -> None:
    """Make the calls, then wait (bounded) until the writer has stored them: it must be running."""
    audit = gateway.governance.audit
    for n in range(CALLS):
        await gateway.call(RequestState(audit=audit), "calc__add", {"a": n, "b": 1}, entry_point="rest")
    with anyio.fail_after(5):  # without a writer nothing is ever stored (and a full queue blocks calls)
        await audit.flush()


@pytest.mark.parametrize("created", ["before the lifespan", "after the lifespan started"])
async def test_audit_writer_runs_whenever_the_log_is_created(tmp_path, created):
    gateway = audited_gateway(tmp_path)

    async def app(scope, receive, send):  # what the middleware wraps; never called here
        raise AssertionError

    if created == "before the lifespan":
        AuditMiddleware(app, gateway=gateway)
    async with gateway.lifespan():
        if created != "before the lifespan":
            AuditMiddleware(app, gateway=gateway)  # a host app building its middleware stack on first request
        await make_calls(gateway)
    assert stored(tmp_path) == ["add"] * CALLS  # every record written by the time the lifespan ended


async def test_a_second_lifespan_runs_the_writer_again(tmp_path):
    gateway = audited_gateway(tmp_path)
    for _ in range(2):
        async with gateway.lifespan():
            await make_calls(gateway)
    assert len(stored(tmp_path)) == 2 * CALLS
