"""`Outage` logs an outage once, each new consequence of it once, reminders, and the recovery."""

from __future__ import annotations

import logging

from mcp_guard.outage import Outage
from tests.support.clock import ManualClock


def _messages(caplog) -> list[tuple[int, str]]:
    return [(record.levelno, record.getMessage()) for record in caplog.records]


def test_each_consequence_is_logged_once_per_outage(caplog):
    caplog.set_level(logging.INFO)
    clock = ManualClock(0.0)
    outage = Outage(logging.getLogger("test.outage"), "Budget storage", clock=clock)
    error = ConnectionError("refused")
    outage.failed(error, "keeping settlements")
    outage.failed(error, "keeping settlements")
    outage.failed(error, "refusing priced calls with 503")  # news to the operator: logged
    outage.failed(error, "refusing priced calls with 503")
    assert _messages(caplog) == [
        (logging.ERROR, "Budget storage is unreachable (ConnectionError: refused): keeping settlements"),
        (logging.ERROR, "Budget storage is unreachable (ConnectionError: refused): refusing priced calls with 503"),
    ]
    caplog.clear()
    clock.now = 31.0
    outage.failed(error, "refusing priced calls with 503")
    clock.now = 32.5
    outage.recovered()
    assert _messages(caplog) == [
        (
            logging.WARNING,
            "Budget storage still unreachable after 31 s (ConnectionError: refused): "
            "refusing priced calls with 503; 5 calls affected so far",
        ),
        (logging.WARNING, "Budget storage is reachable again after 32.5 s (5 calls affected)"),
    ]
    caplog.clear()
    outage.failed(error, "keeping settlements")  # a new outage: its consequences are news again
    assert _messages(caplog) == [
        (logging.ERROR, "Budget storage is unreachable (ConnectionError: refused): keeping settlements"),
    ]
