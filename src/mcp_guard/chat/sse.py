"""Server-sent events as OpenAI streams chat completions: `data: <chunk JSON>` events, then `data: [DONE]`.

`completion_chunks` turns a whole completion into the chunks a streaming caller expects; agent mode uses
it, because its loop needs each turn complete before it can decide anything.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

DONE = "[DONE]"


async def start(send: Any) -> None:
    headers = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})


async def event(send: Any, data: str) -> None:
    await send({"type": "http.response.body", "body": f"data: {data}\n\n".encode(), "more_body": True})


async def end(send: Any) -> None:
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def send_chunks(send: Any, chunks: list[dict[str, Any]]) -> None:
    """A whole stream: the chunks, `[DONE]`, end of body."""
    await start(send)
    for chunk in chunks:
        await event(send, json.dumps(chunk))
    await event(send, DONE)
    await end(send)


async def data_events(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The data of each event in an SSE body (comments and other fields are dropped)."""
    data: list[str] = []
    async for line in lines:
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line and data:
            yield "\n".join(data)
            data = []
    if data:
        yield "\n".join(data)


def completion_chunks(answer: dict[str, Any], *, include_usage: bool) -> list[dict[str, Any]]:
    """A non-streamed completion as stream chunks: the message, the finish (with any `mcp_guard`
    extension), and the usage chunk when the caller asked for it."""
    head = {k: answer.get(k) for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    choice = answer["choices"][0]
    message = choice.get("message") or {}
    delta: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
    if message.get("tool_calls"):
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
    ending = {"index": 0, "delta": {}, "finish_reason": choice.get("finish_reason")}
    finish: dict[str, Any] = {**head, "choices": [ending]}
    if "mcp_guard" in answer:
        finish["mcp_guard"] = answer["mcp_guard"]
    chunks = [{**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}, finish]
    if include_usage:
        chunks.append({**head, "choices": [], "usage": answer.get("usage")})
    return chunks
