"""The chat endpoint observed: one GenAI `chat <model>` client span per model turn with its token usage,
and the tokens in `/metrics` under a bounded model label (a model the configuration does not name is
`_other`: clients choose model names)."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from mcp_guard import Gateway
from mcp_guard.config import parse_config
from mcp_guard.server import standalone_app
from tests.governance.seed import Keys
from tests.governance.walkthrough_app import seed_servers
from tests.observability.test_tracing import named
from tests.observability.world import samples, value

from .world import chat, chat_document, chat_servers, client, model, user

pytestmark = pytest.mark.anyio


async def test_chat_turns_have_spans_and_token_metrics(llm: Any) -> None:
    exporter = InMemorySpanExporter()
    """The chat endpoint: one `chat <model>` client span per model turn with its usage, and the tokens in
    `/metrics` under a bounded model label."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    keys = Keys()
    run = model("hello")
    gateway = Gateway(
        parse_config(chat_document(keys, llm.url)),
        inprocess=[*seed_servers(), *chat_servers()],
        tracer_provider=provider,
    )
    app = standalone_app(gateway)
    async with gateway.lifespan(), client(app, keys.engineering) as http:
        response = await http.post("/v1/chat/completions", json=chat(run, user("hello")))
        assert response.status_code == 200, response.text
        scrape = samples((await http.get("http://127.0.0.1/metrics")).text)
    turn = named(exporter.get_finished_spans(), f"chat {run.split('/', 1)[1]}")
    assert turn.kind is SpanKind.CLIENT
    attributes = turn.attributes or {}
    assert attributes["gen_ai.provider.name"] == "scripted" and attributes["gen_ai.usage.output_tokens"] > 0
    assert value(scrape, "mcp_guard_chat_tokens_total", provider="scripted", model="_other", kind="completion") > 0
