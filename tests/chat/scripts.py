"""What the scripted model says, turn by turn, in each test (written to the server's scripts file)."""

from __future__ import annotations

from typing import Any

READ_PROGRAM = """
const [a, b] = await Promise.all([database.query({ sql: "select 1" }), database.query({ sql: "select 2" })]);
const listed = await notes.listNotes({});
return { rows: [a, b], notes: listed };
"""

WRITE_PROGRAM = """
const listed = await notes.listNotes({});
await notes.addNote({ title: "from code" });
return listed;
"""


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


def calls(*tool_calls: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"content": None, "tool_calls": list(tool_calls), **extra}


def say(text: str, **extra: Any) -> dict[str, Any]:
    return {"content": text, **extra}


SCRIPTS: dict[str, Any] = {
    "manual": [calls(call("notes__add_note", title="buy milk")), say("I added the note.")],
    "agent": [
        calls(call("notes__list_notes"), call("database__query", sql="select count(*) from notes")),
        calls(call("notes__list_notes"), call("notes__add_note", title="agent note")),
        say("Done: one note added."),
    ],
    "code": [calls(call("executeToolCode", code=READ_PROGRAM)), say("Two rows and no notes.")],
    "code_write": [calls(call("executeToolCode", code=WRITE_PROGRAM))],
    "parallel": [
        calls(call("slow__pause", label="a"), call("slow__pause", label="b"), call("slow__pause", label="c")),
        say("All three done."),
    ],
    "forever": {"turns": [calls(call("notes__list_notes"))], "repeat_last": True},
    "costly_loop": {
        "turns": [
            calls(call("database__query", sql="select 1"), usage={"prompt_tokens": 100, "completion_tokens": 100})
        ],
        "repeat_last": True,
    },
    "chatty": {
        "turns": [say("words " * 20, usage={"prompt_tokens": 20, "completion_tokens": 200})],
        "repeat_last": True,
    },
    "hello": {"turns": [say("Hello from the scripted model, streamed in pieces.")], "repeat_last": True},
    "hello_call": [{"content": "Let me look.", "tool_calls": [call("notes__list_notes")]}],
    "own_tool": [calls(call("my_lookup", q="x"), call("notes__list_notes")), say("ok")],
    "delete": [calls(call("notes__delete_note", title="old"), call("notes__list_notes"))],
    "cut": [say("This answer will not arrive in one piece, sorry.", cut_after=3)],
    "broken": [{"status": 500, "error": "model overloaded"}],
    "refuses": [{"status": 400, "error": "messages[0].role is invalid"}],
}
