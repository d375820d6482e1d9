"""Token limits on a Redis that hangs (SIGSTOP: connections accepted, nothing answered): one caller's model
calls wait for it until the breaker has seen `TRIP_AFTER` failures in a row (each bounded by the pool's
socket timeout and one retry), then are refused with 503 at once instead of one wait per call; the outage
is logged once, and Redis counts again once it answers. The Redis is
this test's own `redis-server` on a free port, never the shared one."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time

import anyio
import pytest

from mcp_guard.breaker import STALL, TRIP_AFTER
from tests.governance.seed import Keys
from tests.scaleout.services import own_redis

from .world import chat, chat_document, chat_gateway, client, model

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server on PATH"),
]

NO_TOOLS = {"x-mcp-include-clients": ""}


async def test_a_hung_token_limit_store_is_not_waited_for_once_its_breaker_opens(llm, caplog):
    keys = Keys()
    async with own_redis() as redis:
        document = chat_document(keys, llm.url)
        document["llm"]["token_limits"] = {
            "storage": f"redis://127.0.0.1:{redis.port}/0",
            "rules": [{"limit": "1000000/minute", "per": "key"}],
        }
        async with chat_gateway(document) as (gateway, app), client(app, keys.engineering, **NO_TOOLS) as http:

            async def timed() -> tuple[int, float]:
                started = time.monotonic()
                response = await http.post("/v1/chat/completions", json=chat(model("chatty")))
                return response.status_code, time.monotonic() - started

            before = await timed()
            os.kill(redis.pid, signal.SIGSTOP)
            try:
                with caplog.at_level(logging.ERROR, logger="mcp_guard.chat.tokens"):
                    during = [await timed() for _ in range(TRIP_AFTER + 4)]
            finally:
                os.kill(redis.pid, signal.SIGCONT)
            with anyio.fail_after(5):
                while (after := await timed())[0] != 200:
                    await anyio.sleep(0.1)

    assert before[0] == 200
    assert {status for status, _ in during} == {503}, during
    waited, answered_at_once = during[:TRIP_AFTER], during[TRIP_AFTER:]
    assert max(seconds for _, seconds in waited) <= STALL + 1.0, during
    assert max(seconds for _, seconds in answered_at_once) <= STALL / 4, during  # the breaker is open
    outage_lines = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outage_lines) == 1, [r.getMessage() for r in caplog.records]
    assert "Token limit storage" in outage_lines[0].getMessage()
    assert after[0] == 200
