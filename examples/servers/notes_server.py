"""Notes: a small example MCP server built with `mcp.server.MCPServer` (mcp 2.x).

It keeps notes in process memory and also offers tools that a gateway's tests
need: every content type (text, image, audio, embedded resource), a failing
tool, a slow tool, a slow tool that reports progress and tallies its cancellations
(`count_slowly`, `slow_calls`), a tool that logs (`log`), the server's pid, environment and received HTTP headers,
a tool that adds a tool at runtime and announces the change, and one that adds a
resource (`add_resource`) and announces that, and one that announces a resource update
(`touch_resource`). Beyond tools:
a static resource (`notes://examples/readme`), a template (`notes://notes/{id}`),
a prompt (`summarize`) and completions of its `style` argument and the template's `id`.

Run it:

    python examples/servers/notes_server.py --transport stdio
    python examples/servers/notes_server.py --transport http --port 8000   # /mcp
    python examples/servers/notes_server.py --transport sse --port 8000    # /sse + /messages/

`--many-tools N` registers N extra tools `t0001..tN`. MCPServer does not
paginate `tools/list` (it ignores the cursor and returns every tool in one
page), so use `paged_server.py` to test pagination.

How `notifications/tools/list_changed` reaches clients in mcp 2.3 (see `add_tool`):

* Legacy era (2024-11-05 .. 2025-11-25, `initialize` handshake): the server
  sends the notification on the connection's standalone channel with
  `session.send_tool_list_changed()`: the stdio pipe, the SSE stream, or the
  streamable-HTTP GET stream (the mcp client opens that GET stream by itself
  after the handshake). Clients receive it through `Client(message_handler=...)`.
  A session reaches only its own client, so this server remembers every
  legacy session (`NotesApp.track_legacy_sessions`) and announces to all.
  MCPServer advertises `tools.listChanged: false` in its `initialize` result
  and has no public setting for it, so this server sets the flag with a
  middleware (`_advertise_tools_list_changed`).
* Modern era (2026-07-28, no handshake): a list_changed notification is only
  delivered on a `subscriptions/listen` stream the client opened
  (`Client.listen(tools_list_changed=True)`); the server publishes it on its
  subscription bus with `ctx.notify_tools_changed()`. A bare notification on
  the connection is dropped by the SDK at this era. `server/discover`
  advertises `tools.listChanged: true` because MCPServer serves
  `subscriptions/listen`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import struct
import wave
import zlib
from collections.abc import Sequence
from typing import Any

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resources import TextResource
from mcp.server.session import ServerSession
from mcp.shared.exceptions import UrlElicitationRequiredError
from mcp_types import (
    AudioContent,
    Completion,
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitRequestURLParams,
    ElicitResult,
    EmbeddedResource,
    ImageContent,
    InputRequiredResult,
    LoggingLevel,
    ModelHint,
    ModelPreferences,
    PromptReference,
    SamplingMessage,
    TextContent,
    TextResourceContents,
    ToolAnnotations,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel
from typing_extensions import TypedDict

RESOURCE_URI = "notes://examples/readme"
RESOURCE_TEXT = "Notes keeps short text notes in memory."
GRANT_DELAY = 1.0  # seconds after `authorize` first asks before its user "completes" the grant page


class NoteRef(TypedDict):
    """What `add_note` returns."""

    id: int
    title: str


class Note(TypedDict):
    """A stored note."""

    id: int
    title: str
    body: str


def _png_1x1() -> bytes:
    """A valid 1x1 red RGB PNG, built by hand so the example needs no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte + one red pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _wav_silence() -> bytes:
    """A valid WAV file: 8 samples of 8-bit mono silence at 8 kHz."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(b"\x80" * 8)
    return buffer.getvalue()


PNG_BASE64 = base64.b64encode(_png_1x1()).decode()
WAV_BASE64 = base64.b64encode(_wav_silence()).decode()


class NotesApp:
    """The notes store plus the bookkeeping for tool-list change notifications."""

    def __init__(self) -> None:
        self.notes: dict[int, Note] = {}
        self.next_id = 1
        # One session per legacy connection, so a tool added by one client is
        # announced to every connected legacy client, not only the caller.
        self.legacy_sessions: list[ServerSession] = []
        # what `count_slowly` calls came to: "finished" or "cancelled" (a gateway's tests read it back)
        self.slow_calls: dict[str, int] = {"finished": 0, "cancelled": 0}

    async def track_legacy_sessions(self, ctx: Any, call_next: Any) -> Any:
        """Middleware: remember each handshake-era connection once it is initialized."""
        result = await call_next(ctx)
        if ctx.method == "notifications/initialized":
            self.legacy_sessions.append(ctx.session)
        return result

    async def announce_tools_changed(self, ctx: Context) -> None:
        """Tell every client of either era that the tool list changed."""
        await ctx.notify_tools_changed()  # modern: subscriptions/listen streams
        await self._tell_legacy("send_tool_list_changed")

    async def announce_resources_changed(self, ctx: Context) -> None:
        """Tell every client of either era that the resource list changed."""
        await ctx.notify_resources_changed()
        await self._tell_legacy("send_resource_list_changed")

    async def _tell_legacy(self, send: str) -> None:
        for session in list(self.legacy_sessions):
            try:
                await getattr(session, send)()
            except Exception:  # the connection is gone: forget it
                self.legacy_sessions.remove(session)


async def _advertise_tools_list_changed(ctx: Any, call_next: Any) -> Any:
    """Middleware: claim `tools.listChanged` in the legacy `initialize` result.

    `initialize` is observable but not rewritable on the way in; its result is
    the wire dict, which may be amended on the way out.
    """
    result = await call_next(ctx)
    if ctx.method == "initialize" and isinstance(result, dict):
        tools = result.setdefault("capabilities", {}).setdefault("tools", {})
        tools["listChanged"] = True
    return result


def _register_note_tools(server: MCPServer, app: NotesApp) -> None:
    """The notes tools proper."""

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
    def add_note(title: str, body: str) -> NoteRef:
        """Store a note and return its id."""
        note = Note(id=app.next_id, title=title, body=body)
        app.notes[note["id"]] = note
        app.next_id += 1
        return NoteRef(id=note["id"], title=title)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def list_notes() -> list[Note]:
        """List every stored note, oldest first."""
        return list(app.notes.values())

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def search_notes(query: str, limit: int = 10) -> list[Note]:
        """Notes whose title or body contains `query` (case-insensitive)."""
        needle = query.lower()
        found = [n for n in app.notes.values() if needle in n["title"].lower() or needle in n["body"].lower()]
        return found[: max(limit, 0)]

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
    def delete_note(id: int) -> bool:
        """Delete a note by id; an unknown id is an error."""
        if app.notes.pop(id, None) is None:
            raise ToolError(f"no note with id {id}")
        return True


def _register_test_tools(server: MCPServer, app: NotesApp) -> None:
    """Tools that exist so a gateway's tests can exercise edge cases."""

    @server.tool(structured_output=False, annotations=ToolAnnotations(read_only_hint=True))
    def echo(text: str) -> str:
        """Return `text` unchanged (plain text content, no output schema)."""
        return text

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def add(a: int, b: int) -> int:
        """Add two integers (structured output)."""
        return a + b

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def get_image() -> ImageContent:
        """A 1x1 PNG image content block."""
        return ImageContent(type="image", data=PNG_BASE64, mime_type="image/png")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def get_audio() -> AudioContent:
        """A short silent WAV audio content block."""
        return AudioContent(type="audio", data=WAV_BASE64, mime_type="audio/wav")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def get_resource() -> EmbeddedResource:
        """An embedded text resource content block."""
        contents = TextResourceContents(uri=RESOURCE_URI, mime_type="text/plain", text=RESOURCE_TEXT)
        return EmbeddedResource(type="resource", resource=contents)

    @server.tool()
    def fail(message: str) -> str:
        """Always fails; the result has is_error=True and carries `message`."""
        raise ToolError(message)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def sleep(seconds: float) -> str:
        """Sleep without blocking the server, then say so."""
        await anyio.sleep(seconds)
        return f"slept {seconds:g}"

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def count_slowly(steps: int, ctx: Context, interval: float = 0.05) -> str:
        """Count to `steps`, one step per `interval` seconds, reporting progress after each step (when the
        caller sent a progress token); a cancelled call stops counting and is tallied (`slow_calls`)."""
        try:
            for step in range(1, steps + 1):
                await anyio.sleep(interval)
                await ctx.report_progress(step, steps, f"step {step} of {steps}")
        except anyio.get_cancelled_exc_class():
            app.slow_calls["cancelled"] += 1
            raise
        app.slow_calls["finished"] += 1
        return f"counted to {steps}"

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def log(level: LoggingLevel, text: str, ctx: Context) -> str:
        """Send `text` to the client as a log message (`notifications/message`) of `level`."""
        await ctx.log(level, text, logger_name="notes")
        return "logged"

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def slow_calls() -> dict[str, int]:
        """How many `count_slowly` calls finished and how many were cancelled."""
        return dict(app.slow_calls)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def env(name: str) -> str | None:
        """The value of an environment variable of the server process, or null."""
        return os.environ.get(name)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def headers(ctx: Context) -> dict[str, str] | None:
        """The HTTP headers of this call as the server received them (lower-case names); null over stdio."""
        received = ctx.headers
        return None if received is None else {name.lower(): value for name, value in received.items()}

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
    async def add_tool(name: str, ctx: Context) -> str:
        """Register a new tool `name` (it returns its own name) and announce the change."""

        def dynamic_tool() -> str:
            return name

        server.add_tool(dynamic_tool, name=name, description=f"Added at runtime: {name}")
        await app.announce_tools_changed(ctx)
        return f"added {name}"

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def touch_resource(uri: str, ctx: Context) -> str:
        """Announce that resource `uri` was updated (to 2026-07-28 `subscriptions/listen` streams)."""
        await ctx.notify_resource_updated(uri)
        return uri

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
    async def add_resource(name: str, text: str, ctx: Context) -> str:
        """Offer a new text resource `notes://added/<name>` and announce the change."""
        uri = f"notes://added/{name}"
        server.add_resource(TextResource(uri=uri, name=name, text=text, mime_type="text/plain"))
        await app.announce_resources_changed(ctx)
        return uri


STYLES = ("brief", "bullet points", "detailed")


def _register_resources_and_prompts(server: MCPServer, app: NotesApp) -> None:
    """What a gateway aggregates besides tools."""

    @server.resource(RESOURCE_URI, name="readme", mime_type="text/plain")
    def readme() -> str:
        return RESOURCE_TEXT

    @server.resource("notes://notes/{id}", name="note", mime_type="text/plain")
    def note(id: str) -> str:
        found = app.notes.get(int(id)) if id.isdigit() else None
        if found is None:
            raise ValueError(f"no note {id}")
        return f"{found['title']}: {found['body']}"

    @server.prompt(description="Ask for a summary of the notes on a topic.")
    def summarize(topic: str, style: str = "brief") -> str:
        return f"Summarize my notes about {topic} ({style})."

    @server.completion()
    async def complete(ref: Any, argument: Any, context: Any) -> Completion:
        if isinstance(ref, PromptReference):
            values = [s for s in STYLES if s.startswith(argument.value)] if argument.name == "style" else []
        else:
            values = [str(i) for i in sorted(app.notes) if str(i).startswith(argument.value)]
        return Completion(values=values, total=len(values), has_more=False)


def _register_many_tools(server: MCPServer, count: int) -> None:
    """Trivial tools t0001..tNNNN, each returning its own name."""
    for index in range(1, count + 1):
        name = f"t{index:04d}"
        server.add_tool(lambda name=name: name, name=name, description=f"Trivial tool {name}")


class Confirmation(BaseModel):
    """What `confirm` asks the user for."""

    ok: bool


def _register_input_tools(server: MCPServer) -> None:
    """Tools that ask the client for input: in the handshake era with a request on the client's stream, in
    2026-07-28 with an `input_required` result the client answers by calling again (`ctx.input_responses`)."""

    @server.tool(structured_output=False, annotations=ToolAnnotations(read_only_hint=True))
    async def confirm(question: str, ctx: Context) -> Any:
        """Ask the user `question` (form elicitation); say what they answered."""
        return await _confirmation(ctx, question)

    @server.tool(structured_output=False, annotations=ToolAnnotations(read_only_hint=True))
    async def ask_model(prompt: str, ctx: Context, hint: str = "", include_context: str = "") -> Any:
        """Ask the client's model `prompt` (sampling), preferring a model named like `hint`, asking for
        `include_context` (none, thisServer, allServers) if given; say what it answered."""
        messages = [SamplingMessage(role="user", content=TextContent(type="text", text=prompt))]
        options: dict[str, Any] = {"max_tokens": 64}
        if hint:
            options["model_preferences"] = ModelPreferences(hints=[ModelHint(name=hint)])
        if include_context:
            options["include_context"] = include_context
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            result: Any = await ctx.request_context.session.create_message(
                messages=messages, related_request_id=ctx.request_id, **options
            )
        else:
            result = (ctx.input_responses or {}).get("sample")
            if not isinstance(result, CreateMessageResult):
                params = CreateMessageRequestParams(messages=messages, **options)
                return InputRequiredResult(input_requests={"sample": CreateMessageRequest(params=params)})
        text = result.content.text if isinstance(result.content, TextContent) else "?"
        return f"{result.model}: {text}"


async def _confirmation(ctx: Context, question: str) -> str | InputRequiredResult:
    """Ask the user `question` (form elicitation) in the era of the request; what they answered."""
    if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
        result = await ctx.elicit(question, Confirmation)
        return f"{result.action} ok={result.data.ok}" if result.action == "accept" else result.action
    answer = (ctx.input_responses or {}).get("confirm")
    if not isinstance(answer, ElicitResult):
        schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
        form = ElicitRequestFormParams(message=question, requested_schema=schema)
        return InputRequiredResult(input_requests={"confirm": ElicitRequest(params=form)})
    return f"accept ok={(answer.content or {}).get('ok')}" if answer.action == "accept" else answer.action


def _register_asking_items(server: MCPServer) -> None:
    """A prompt and a resource template that ask the user before they answer, and a tool that sends the
    user to a URL (`--asking-items`; off by default, so the lists other clients see stay as they are)."""

    @server.tool(structured_output=False, annotations=ToolAnnotations(read_only_hint=True))
    async def visit(url: str, ctx: Context) -> str:
        """Send the user to `url` (URL elicitation, handshake era); once they accept, say the elicitation is
        complete (`notifications/elicitation/complete`), as a server would once the page was done with."""
        elicitation_id = f"visit-{ctx.request_id}"
        result = await ctx.elicit_url("Open this page to go on.", url, elicitation_id)
        if result.action == "accept":
            await ctx.request_context.session.send_elicit_complete(elicitation_id)
        return f"{result.action} {elicitation_id}"

    granted: set[str] = set()
    granting: dict[str, asyncio.Task[None]] = {}  # the pending grants (held: a task nobody holds may vanish)

    @server.tool(structured_output=False, annotations=ToolAnnotations(read_only_hint=True))
    async def authorize(account: str, ctx: Context) -> str:
        """Act for `account` once its user has granted access on a page: until then the -32042 "URL
        elicitation required" error (handshake era). The grant lands `GRANT_DELAY` seconds after the first
        ask, and the server says so (`notifications/elicitation/complete`), as a real grant page would."""
        if account in granted:
            return f"acting for {account}"
        elicitation_id = f"grant-{account}"
        if account not in granting:
            session = ctx.request_context.session
            granting[account] = asyncio.create_task(_grant_later(granted, account, session, elicitation_id))
        page = ElicitRequestURLParams(
            message=f"Grant access to {account}.", url=f"https://auth.example.com/grant/{account}",
            elicitation_id=elicitation_id,
        )  # fmt: skip
        raise UrlElicitationRequiredError([page])

    @server.resource("notes://ask/{question}", name="asked", mime_type="text/plain")
    async def asked(question: str, ctx: Context) -> Any:
        return await _confirmation(ctx, question)

    @server.prompt(description="Ask the user `question` first; the prompt says what they answered.")
    async def ask_first(question: str, ctx: Context) -> Any:
        answered = await _confirmation(ctx, question)
        return answered if isinstance(answered, InputRequiredResult) else f"The user answered: {answered}"


async def _grant_later(granted: set[str], account: str, session: ServerSession, elicitation_id: str) -> None:
    await anyio.sleep(GRANT_DELAY)
    granted.add(account)
    await session.send_elicit_complete(elicitation_id)


def build_server(many_tools: int = 0, asking_items: bool = False) -> MCPServer:
    """Build a fresh notes server with its own in-memory store."""
    app = NotesApp()
    server = MCPServer(
        "notes",
        version="1.0.0",
        instructions="Keeps short text notes in memory.",
        middleware=[_advertise_tools_list_changed, app.track_legacy_sessions],
        log_level="WARNING",
    )
    _register_note_tools(server, app)
    _register_test_tools(server, app)
    _register_input_tools(server)
    _register_resources_and_prompts(server, app)
    _register_many_tools(server, many_tools)
    if asking_items:
        _register_asking_items(server)
    return server


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=["stdio", "http", "sse"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--many-tools", type=int, default=0, metavar="N")
    parser.add_argument("--asking-items", action="store_true", help="a prompt and a template that elicit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the server on the chosen transport until it is stopped."""
    args = parse_args(argv)
    server = build_server(args.many_tools, args.asking_items)
    if args.transport == "stdio":
        server.run("stdio")
    elif args.transport == "http":
        server.run("streamable-http", host=args.host, port=args.port)
    else:
        server.run("sse", host=args.host, port=args.port)


if __name__ == "__main__":
    main()
