"""The chat tests' world: the governed seed world (tests/governance) plus a notes server (a read, a write, a
destructive delete) and a slow server, one OpenAI-compatible provider played by the scripted server, and
all five middlewares in front of the router."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import mcp_types as types

from mcp_guard import Gateway, InProcessServer
from mcp_guard.config import parse_config
from mcp_guard.server import standalone_app
from tests.governance.seed import SEED_ROLES, Keys
from tests.governance.walkthrough_app import CALLS as SEED_CALLS  # the seed servers' calls: database/query, ...
from tests.governance.walkthrough_app import seed_servers, walkthrough_document

NOTES: list[str] = []
CALLS: Counter[str] = Counter()
PAUSE_SECONDS = 0.4
LLM_PRICE = {"input": 10.0, "output": 1000.0}  # $ per million tokens: $0.001 per completion token


def chat_servers() -> list[InProcessServer]:
    notes, slow = InProcessServer("notes"), InProcessServer("slow")

    @notes.tool(annotations=types.ToolAnnotations(read_only_hint=True))
    async def list_notes() -> list[str]:
        """List every note."""
        CALLS["notes/list_notes"] += 1
        return list(NOTES)

    @notes.tool(annotations=types.ToolAnnotations(read_only_hint=False, destructive_hint=False))
    async def add_note(title: str) -> str:
        """Add a note."""
        CALLS["notes/add_note"] += 1
        NOTES.append(title)
        return f"added {title!r}"

    @notes.tool(annotations=types.ToolAnnotations(read_only_hint=False, destructive_hint=True))
    async def delete_note(title: str) -> str:
        """Delete a note for good."""
        CALLS["notes/delete_note"] += 1
        NOTES.remove(title)
        return f"deleted {title!r}"

    @slow.tool
    async def pause(label: str) -> str:
        """Take a while, then answer."""
        CALLS["slow/pause"] += 1
        await anyio.sleep(PAUSE_SECONDS)
        return f"{label} done"

    return [notes, slow]


def chat_document(keys: Keys, llm_url: str, **overrides: Any) -> dict[str, Any]:
    document = walkthrough_document(keys)
    document["roles"] = {**SEED_ROLES, "engineering": {"tools": ["filesystem/*", "database/*", "notes/*", "slow/*"]}}
    document["servers"] = {
        "notes": {"transport": "inprocess", "target": "tests.chat.world:notes", "auto_execute": ["list_notes"]},
        "slow": {"transport": "inprocess", "target": "tests.chat.world:slow", "auto_execute": ["*"]},
        "database": {"transport": "inprocess", "target": "tests.chat.world:db", "auto_execute": ["query"]},
    }
    document["llm"] = {
        "providers": {
            "scripted": {"base_url": llm_url, "api_key_env": "SCRIPTED_LLM_KEY", "pricing": {"*": LLM_PRICE}},
            "other": {"base_url": llm_url, "models": ["only-this"]},
        }
    }
    document.update(overrides)
    return document


@asynccontextmanager
async def chat_gateway(document: dict[str, Any]) -> AsyncIterator[tuple[Gateway, Any]]:
    NOTES.clear()
    CALLS.clear()
    SEED_CALLS.clear()
    gateway = Gateway(parse_config(document), inprocess=[*seed_servers(), *chat_servers()])
    app = standalone_app(gateway)
    async with gateway.lifespan():
        yield gateway, app


def client(app: Any, key: str | None = None, **headers: str) -> httpx2.AsyncClient:
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    return httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1/mcp", headers=headers, timeout=30
    )


def model(script: str) -> str:
    """A model name that plays `script` from its first turn (a fresh run each time)."""
    return f"scripted/{script}@{uuid.uuid4().hex[:8]}"


def chat(model_name: str, *messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model": model_name, "messages": list(messages) or [user("hello")], **extra}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


async def received(llm_base: str, model_name: str) -> list[dict[str, Any]]:
    """What the scripted model received for this run: request bodies and Authorization headers."""
    upstream_model = model_name.split("/", 1)[1]
    async with httpx2.AsyncClient() as http:
        response = await http.get(f"{llm_base}/_received/{upstream_model}")
    return list(response.json())


def tool_names(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools") or []]
