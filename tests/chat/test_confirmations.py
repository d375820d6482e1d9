"""Confirmation of destructive tools: 409 with an id first, then the same call with `x-mcp-confirm: <id>` by
the same key runs it once; wrong, expired, used, foreign and mismatched ids are refused clearly; both
steps are audited, the confirmed call naming the refused attempt as its parent."""

import pytest

from tests.governance.seed import Keys
from tests.governance.walkthrough_app import mcp_session
from tests.support.clock import ManualClock

from .world import CALLS, NOTES, chat_document, chat_gateway, client

pytestmark = pytest.mark.anyio

DELETE_OLD = {
    "id": "c1",
    "type": "function",
    "function": {"name": "notes__delete_note", "arguments": '{"title": "old"}'},
}


async def ask(http, call=DELETE_OLD, confirm=None):
    headers = {"x-mcp-confirm": confirm} if confirm else {}
    return await http.post("/tool/execute", json=call, headers=headers)


async def test_first_call_409_then_confirmed_call_runs_once_and_both_are_audited(llm):
    keys = Keys()
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app):
        NOTES[:] = ["old", "old"]
        async with client(app, keys.engineering) as http:
            first = await ask(http)
            confirmation = first.json()["confirmation_id"]
            confirmed = await ask(http, confirm=confirmation)
            reused = await ask(http, confirm=confirmation)
        async with client(app, keys.admin) as admin:
            records = (await admin.get("/audit", params={"key": "eng-bot", "tool": "notes/*"})).json()["records"]
    assert first.status_code == 409 and first.headers["content-type"] == "application/problem+json"
    problem = first.json()
    assert problem["type"] == "urn:mcp-guard:problem:confirmation_required" and problem["tool"] == "notes/delete_note"
    assert problem["detail"] == (
        f"Tool 'notes/delete_note' needs confirmation: repeat the same call with the header "
        f"'x-mcp-confirm: {confirmation}' within 300 s"
    )
    assert confirmed.status_code == 200 and confirmed.json()["content"] == "deleted 'old'"
    assert reused.status_code == 409 and reused.json()["confirmation_problem"] == "used"
    assert reused.json()["detail"].startswith(f"Confirmation '{confirmation}' was already used;")
    assert CALLS["notes/delete_note"] == 1 and NOTES == ["old"]
    refused, ran, refused_again = reversed(records)
    assert (refused["decision"], refused["reason"], refused["call_id"]) == (
        "denied",
        "confirmation_required",
        confirmation,
    )
    assert (ran["decision"], ran["outcome"], ran["parent_id"]) == ("allowed", "ok", confirmation)
    assert (refused_again["decision"], refused_again["reason"]) == ("denied", "confirmation_invalid")


async def test_wrong_expired_foreign_and_mismatched_ids_are_refused(llm):
    keys = Keys()
    clock = ManualClock(1_000_000.0)
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app):
        gateway.confirmations.clock = clock
        NOTES[:] = ["old", "other"]
        async with client(app, keys.engineering) as http, client(app, keys.admin) as admin:
            wrong = await ask(http, confirm="not-an-id")
            issued = (await ask(http)).json()["confirmation_id"]
            foreign = await ask(admin, confirm=issued)
            other = {**DELETE_OLD, "function": {"name": "notes__delete_note", "arguments": '{"title": "other"}'}}
            mismatched = await ask(http, call=other, confirm=issued)
            clock.now += 301
            expired = await ask(http, confirm=issued)
            fresh = expired.json()["confirmation_id"]
            clock.now += 299
            in_time = await ask(http, confirm=fresh)
    problems = [r.json()["confirmation_problem"] for r in (wrong, foreign, mismatched, expired)]
    assert problems == ["unknown", "foreign", "mismatch", "expired"]
    assert all(r.status_code == 409 for r in (wrong, foreign, mismatched, expired))
    assert wrong.json()["detail"].startswith("Confirmation 'not-an-id' is unknown; tool 'notes/delete_note' still")
    assert "was issued to another key" in foreign.json()["detail"]
    assert "another tool or other arguments" in mismatched.json()["detail"]
    assert in_time.status_code == 200 and NOTES == ["other"] and CALLS["notes/delete_note"] == 1


async def test_configured_confirm_and_the_mcp_endpoint(llm):
    keys = Keys()
    document = chat_document(keys, llm.url)
    document["servers"]["notes"]["confirm"] = ["add_note"]
    add = {"id": "c2", "type": "function", "function": {"name": "notes__add_note", "arguments": '{"title": "x"}'}}
    async with chat_gateway(document) as (gateway, app):
        async with client(app, keys.engineering) as http:
            first = await ask(http, call=add)
            listed = await http.post("/tool/execute", json={**add, "function": {"name": "notes__list_notes"}})
        async with mcp_session(app, keys.engineering) as session:
            over_mcp = await session.call_tool("notes__add_note", {"title": "y"})
        confirmation = over_mcp.meta["mcp-guard/confirmation_id"]
        async with client(app, keys.engineering) as http:  # an id issued on MCP is confirmed through REST
            y = {**add, "function": {"name": "notes__add_note", "arguments": '{"title": "y"}'}}
            confirmed = await ask(http, call=y, confirm=confirmation)
    assert first.status_code == 409 and first.json()["tool"] == "notes/add_note"
    assert listed.status_code == 200  # read tools are not affected
    assert over_mcp.is_error and over_mcp.meta["mcp-guard/reason"] == "confirmation_required"
    assert confirmed.status_code == 200 and NOTES == ["y"]


async def test_a_code_mode_program_cannot_confirm(llm):
    keys = Keys()
    program = 'return await notes.deleteNote({ title: "old" });'
    call = {"id": "c3", "type": "function", "function": {"name": "executeToolCode", "arguments": {"code": program}}}
    async with chat_gateway(chat_document(keys, llm.url)) as (gateway, app):
        NOTES.append("old")
        async with client(app, keys.engineering, **{"x-mcp-code-mode": "true"}) as http:
            result = (await http.post("/tool/execute", json=call)).json()
    assert result["is_error"] and "which a Code Mode program cannot give" in result["content"]
    assert NOTES == ["old"]
