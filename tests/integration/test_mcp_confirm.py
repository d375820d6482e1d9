"""A destructive tool confirmed over MCP itself: the SDK client sends `x-mcp-confirm` on its HTTP transport,
and the MCP endpoint hands it to the pipeline, on the fast path (2026-07-28), on the SDK's own handler
for the same era, and on a handshake-era session."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_guard.router.fast_call import FastToolCall
from tests.chat.world import CALLS, NOTES, chat_document, chat_gateway, client
from tests.governance.seed import Keys
from tests.governance.walkthrough_app import http

pytestmark = pytest.mark.anyio

NO_LLM = "http://127.0.0.1:9/v1"  # no model is called here
DELETE = ("notes__delete_note", {"title": "old"})


@pytest.mark.parametrize("path", ["fast", "sdk", "legacy"])
async def test_an_mcp_client_confirms_with_the_header(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if path == "sdk":  # every request to the SDK's handler, as for requests the fast path leaves alone
        monkeypatch.setattr(FastToolCall, "_plain_headers", lambda self, scope: None)
    keys = Keys()
    async with chat_gateway(chat_document(keys, NO_LLM)) as (_gateway, app):
        NOTES[:] = ["old", "old"]
        async with http(app, keys.engineering) as transport:
            url, mode = "http://127.0.0.1/mcp", "legacy" if path == "legacy" else "auto"
            async with Client(streamable_http_client(url, http_client=transport), mode=mode, cache=None) as session:
                first = await session.call_tool(*DELETE)
                confirmation = first.meta["mcp-guard/confirmation_id"]  # type: ignore[index]
                transport.headers["x-mcp-confirm"] = confirmation
                confirmed = await session.call_tool(*DELETE)
                reused = await session.call_tool(*DELETE)
        async with client(app, keys.admin) as admin:
            records = (await admin.get("/audit", params={"key": "eng-bot", "tool": "notes/*"})).json()["records"]

    assert first.is_error and _meta(first)["mcp-guard/reason"] == "confirmation_required"
    assert not confirmed.is_error and confirmed.content[0].text == "deleted 'old'"  # type: ignore[union-attr]
    assert reused.is_error and _meta(reused)["mcp-guard/reason"] == "confirmation_invalid"
    assert CALLS["notes/delete_note"] == 1 and NOTES == ["old"]
    refused, ran, _refused_again = reversed(records)
    assert refused["call_id"] == confirmation and refused["entry"] == "mcp"
    assert (ran["decision"], ran["parent_id"], ran["entry"]) == ("allowed", confirmation, "mcp")


def _meta(result: Any) -> dict[str, Any]:
    return result.meta or {}
