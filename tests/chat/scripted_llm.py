"""A scripted OpenAI-compatible chat completions server, for tests and benchmarks (no real model can run
on these machines). Run as its own process:

    python tests/chat/scripted_llm.py --port 8123 --scripts scripts.json

`scripts.json` maps a script name to its turns (or to `{"turns": [...], "repeat_last": true}`). A request's
`model` picks the script: `<script>` or `<script>@<run>`; each distinct model string counts its own turns,
so one server serves many tests. Turn `n` (0-based: the n-th request for that model string) answers with
the script's n-th entry:

    {"content": "text" | null,
     "tool_calls": [{"id"?: "call_1", "name": "server__tool", "arguments": {...} | "json"}],
     "usage"?: {"prompt_tokens": 10, "completion_tokens": 5},   # default: size of the request / answer / 4
     "delay"?: 0.2,                                              # seconds before answering
     "cut_after"?: 3,                                            # streaming: drop the connection after 3 chunks
     "status"?: 500, "error"?: "message"}                         # an error answer instead

`stream: true` gets the answer as SSE chunks (with the usage chunk when `stream_options.include_usage`).
Every request is recorded: `GET /_received/<model>` returns `[{"body", "authorization"}, ...]`.
`PUT /_scripts/<name>` adds or replaces a script.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

SCRIPTS: dict[str, Any] = {}
RECEIVED: dict[str, list[dict[str, Any]]] = {}


def _tokens(payload: Any) -> int:
    return max(1, math.ceil(len(json.dumps(payload, separators=(",", ":"))) / 4))


def _turn(model: str) -> dict[str, Any] | None:
    script = SCRIPTS.get(model.split("@", 1)[0])
    if script is None:
        return None
    turns, repeat = (script, False) if isinstance(script, list) else (script["turns"], script.get("repeat_last"))
    index = len(RECEIVED[model]) - 1
    if index < len(turns):
        return dict(turns[index])
    return dict(turns[-1]) if repeat else {"status": 500, "error": f"script {model!r} has no turn {index}"}


def _tool_calls(entry: dict[str, Any], turn: int) -> list[dict[str, Any]]:
    calls = []
    for i, call in enumerate(entry.get("tool_calls") or []):
        arguments = call.get("arguments", {})
        calls.append(
            {
                "id": call.get("id") or f"call_{turn}_{i}",
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                },
            }
        )
    return calls


def _completion(body: dict[str, Any], entry: dict[str, Any], turn: int) -> dict[str, Any]:
    calls = _tool_calls(entry, turn)
    message: dict[str, Any] = {"role": "assistant", "content": entry.get("content")}
    if calls:
        message["tool_calls"] = calls
    usage = entry.get("usage") or {
        "prompt_tokens": _tokens([body.get("messages"), body.get("tools")]),
        "completion_tokens": _tokens([message.get("content"), calls]),
    }
    usage = {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}
    return {
        "id": f"chatcmpl-{turn}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": usage,
    }


async def _chunks(completion: dict[str, Any], include_usage: bool, cut_after: int | None) -> AsyncIterator[bytes]:
    head = {k: completion[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    extra = {"usage": None} if include_usage else {}
    message, finish = completion["choices"][0]["message"], completion["choices"][0]["finish_reason"]
    text = message.get("content") or ""
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": text[i : i + 8]} for i in range(0, len(text), 8)]
    deltas += [{"tool_calls": [{"index": i, **call}]} for i, call in enumerate(message.get("tool_calls") or [])]
    for sent, delta in enumerate(deltas):
        if sent == cut_after:
            raise ConnectionAbortedError("scripted: the connection drops mid-stream")
        yield _event({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}], **extra})
        await anyio.sleep(0)
    yield _event({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}], **extra})
    if include_usage:
        yield _event({**head, "choices": [], "usage": completion["usage"]})
    yield b"data: [DONE]\n\n"


def _event(chunk: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(chunk)}\n\n".encode()


async def completions(request: Request) -> Response:
    body = await request.json()
    model = str(body.get("model"))
    RECEIVED.setdefault(model, []).append({"body": body, "authorization": request.headers.get("authorization")})
    entry = _turn(model)
    if entry is None:
        return JSONResponse({"error": {"message": f"The model {model!r} does not exist"}}, status_code=404)
    await anyio.sleep(float(entry.get("delay", 0)))
    if "status" in entry:
        return JSONResponse({"error": {"message": entry.get("error", "scripted error")}}, status_code=entry["status"])
    completion = _completion(body, entry, len(RECEIVED[model]))
    if body.get("stream"):
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunks = _chunks(completion, include_usage, entry.get("cut_after"))
        return StreamingResponse(chunks, media_type="text/event-stream")
    return JSONResponse(completion)


async def received(request: Request) -> Response:
    return JSONResponse(RECEIVED.get(request.path_params["model"], []))


async def put_script(request: Request) -> Response:
    SCRIPTS[request.path_params["name"]] = await request.json()
    return JSONResponse({"ok": True})


app = Starlette(
    routes=[
        Route("/v1/chat/completions", completions, methods=["POST"]),
        Route("/_received/{model:path}", received),
        Route("/_scripts/{name}", put_script, methods=["PUT"]),
    ]
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--scripts", type=Path)
    args = parser.parse_args()
    if args.scripts:
        SCRIPTS.update(json.loads(args.scripts.read_text()))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
