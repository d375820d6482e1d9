"""A reference server for the official MCP conformance suite (npm `@modelcontextprotocol/conformance`).

The suite's server scenarios (`conformance server --url URL --suite all`) call fixed tools, resources and
prompts (`test_simple_text`, `test://static-text`, `test_prompt_with_arguments`, ...) and check what comes
back. The npm package ships the scenarios but no server to run them against, so this one implements what
each scenario's own description asks for, with the low-level `mcp.server.Server` (one tool needs an input
schema written by hand). The gateway's conformance test runs the suite against this server directly and
through a single-upstream virtual server (`tests/integration/test_conformance.py`).

    python examples/servers/conformance_server.py --port 8000      # streamable HTTP at /mcp, 127.0.0.1
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import mcp_types as types
import uvicorn
from mcp import MCPError
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from notes_server import PNG_BASE64, WAV_BASE64

Context = ServerRequestContext[Any]
Content = list[types.ContentBlock]
NO_ARGUMENTS: dict[str, Any] = {"type": "object", "properties": {}}
JSON_SCHEMA_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def _text(text: str) -> types.TextContent:
    return types.TextContent(type="text", text=text)


def _image() -> types.ImageContent:
    return types.ImageContent(type="image", data=PNG_BASE64, mime_type="image/png")


def _embedded(uri: str, text: str, mime: str = "text/plain") -> types.EmbeddedResource:
    resource = types.TextResourceContents(uri=uri, mime_type=mime, text=text)
    return types.EmbeddedResource(type="resource", resource=resource)


async def simple_text(ctx: Context, arguments: dict[str, Any]) -> Content:
    return [_text("This is a simple text response for testing.")]


async def image(ctx: Context, arguments: dict[str, Any]) -> Content:
    return [_image()]


async def audio(ctx: Context, arguments: dict[str, Any]) -> Content:
    return [types.AudioContent(type="audio", data=WAV_BASE64, mime_type="audio/wav")]


async def embedded_resource(ctx: Context, arguments: dict[str, Any]) -> Content:
    return [_embedded("test://embedded-resource", "This is an embedded resource content.")]


async def mixed(ctx: Context, arguments: dict[str, Any]) -> Content:
    data = json.dumps({"test": "data", "value": 123})
    resource = _embedded("test://mixed-content-resource", data, "application/json")
    return [_text("Multiple content types test:"), _image(), resource]


async def with_logging(ctx: Context, arguments: dict[str, Any]) -> Content:
    for step, message in enumerate(("Tool execution started", "Tool processing data", "Tool execution completed")):
        if step:
            await anyio.sleep(0.05)
        await ctx.session.send_log_message("info", message, related_request_id=ctx.request_id)
    return [_text("Logging tool finished")]


async def failing(ctx: Context, arguments: dict[str, Any]) -> Content:
    raise ToolFailed("This tool intentionally returns an error for testing")


async def with_progress(ctx: Context, arguments: dict[str, Any]) -> Content:
    for step, progress in enumerate((0, 50, 100)):
        if step:
            await anyio.sleep(0.05)
        await ctx.session.report_progress(progress, 100)
    return [_text("Progress tool finished")]


async def sampling(ctx: Context, arguments: dict[str, Any]) -> Content:
    message = types.SamplingMessage(role="user", content=_text(str(arguments.get("prompt", ""))))
    answer = await ctx.session.create_message([message], max_tokens=100)
    content = answer.content
    text = content.text if isinstance(content, types.TextContent) else str(content)
    return [_text(f"LLM response: {text}")]


USER_SCHEMA = {
    "type": "object",
    "properties": {
        "username": {"type": "string", "description": "User's response"},
        "email": {"type": "string", "description": "User's email address"},
    },
    "required": ["username", "email"],
}
DEFAULTS_SCHEMA = {  # SEP-1034: a default for every primitive type
    "type": "object",
    "properties": {
        "name": {"type": "string", "default": "John Doe"},
        "age": {"type": "integer", "default": 30},
        "score": {"type": "number", "default": 95.5},
        "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
        "verified": {"type": "boolean", "default": True},
    },
}


async def elicitation(ctx: Context, arguments: dict[str, Any]) -> Content:
    answer = await ctx.session.elicit_form(str(arguments.get("message", "")), USER_SCHEMA, ctx.request_id)
    return [_text(f"User response: action={answer.action}, content={json.dumps(answer.content)}")]


async def elicitation_defaults(ctx: Context, arguments: dict[str, Any]) -> Content:
    return await _elicited(ctx, "Please confirm your details", DEFAULTS_SCHEMA)


async def elicitation_enums(ctx: Context, arguments: dict[str, Any]) -> Content:
    options = ["option1", "option2", "option3"]
    titled = [{"const": f"value{i}", "title": title} for i, title in enumerate(("First", "Second", "Third"), 1)]
    choices = [{**choice, "title": f"{choice['title']} Choice"} for choice in titled]
    schema = {
        "type": "object",
        "properties": {
            "untitledSingle": {"type": "string", "enum": options},
            "titledSingle": {"type": "string", "oneOf": [{**t, "title": f"{t['title']} Option"} for t in titled]},
            "legacyEnum": {
                "type": "string",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"],
            },
            "untitledMulti": {"type": "array", "items": {"type": "string", "enum": options}},
            "titledMulti": {
                "type": "array",
                "items": {"anyOf": choices},
            },
        },
    }
    return await _elicited(ctx, "Please pick options", schema)


async def _elicited(ctx: Context, message: str, schema: dict[str, Any]) -> Content:
    answer = await ctx.session.elicit_form(message, schema, ctx.request_id)
    return [_text(f"Elicitation completed: action={answer.action}, content={json.dumps(answer.content)}")]


async def json_schema(ctx: Context, arguments: dict[str, Any]) -> Content:
    return [_text(f"Received: {json.dumps(arguments)}")]


async def reconnection(ctx: Context, arguments: dict[str, Any]) -> Content:
    if ctx.close_sse_stream is not None:  # SEP-1699: the client is to reconnect and still get the result
        await ctx.close_sse_stream()
    await anyio.sleep(0.1)
    return [_text("Reconnection test completed")]


class ToolFailed(Exception):
    """A tool's failure, answered as an `isError` result."""


Run = Callable[[Context, dict[str, Any]], Awaitable[Content]]
TOOLS: dict[str, tuple[str, dict[str, Any], Run]] = {
    "test_simple_text": ("Returns a simple text response", NO_ARGUMENTS, simple_text),
    "test_image_content": ("Returns an image", NO_ARGUMENTS, image),
    "test_audio_content": ("Returns audio", NO_ARGUMENTS, audio),
    "test_embedded_resource": ("Returns an embedded resource", NO_ARGUMENTS, embedded_resource),
    "test_multiple_content_types": ("Returns text, image and resource", NO_ARGUMENTS, mixed),
    "test_tool_with_logging": ("Sends three log messages", NO_ARGUMENTS, with_logging),
    "test_error_handling": ("Always fails", NO_ARGUMENTS, failing),
    "test_tool_with_progress": ("Reports progress 0, 50, 100 of 100", NO_ARGUMENTS, with_progress),
    "test_sampling": (
        "Asks the client's LLM",
        {"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"]},
        sampling,
    ),
    "test_elicitation": (
        "Asks the user",
        {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]},
        elicitation,
    ),
    "test_elicitation_sep1034_defaults": ("Elicits with defaults", NO_ARGUMENTS, elicitation_defaults),
    "test_elicitation_sep1330_enums": ("Elicits enums of every kind", NO_ARGUMENTS, elicitation_enums),
    "json_schema_2020_12_tool": (
        "Tool with JSON Schema 2020-12 features",
        {
            "$schema": JSON_SCHEMA_2020_12,
            "type": "object",
            "$defs": {
                "address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}
            },
            "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
            "additionalProperties": False,
        },
        json_schema,
    ),
    "test_reconnection": ("Closes its SSE stream mid-call", NO_ARGUMENTS, reconnection),
}


async def list_tools(ctx: Context, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    tools = [types.Tool(name=name, description=d, input_schema=s) for name, (d, s, _run) in TOOLS.items()]
    return types.ListToolsResult(tools=tools)


async def call_tool(ctx: Context, params: types.CallToolRequestParams) -> types.CallToolResult:
    tool = TOOLS.get(params.name)
    if tool is None:
        return types.CallToolResult(content=[_text(f"Unknown tool {params.name!r}")], is_error=True)
    try:
        return types.CallToolResult(content=await tool[2](ctx, dict(params.arguments or {})))
    except ToolFailed as exc:
        return types.CallToolResult(content=[_text(str(exc))], is_error=True)


STATIC_TEXT = "This is the content of the static text resource."
RESOURCES = [
    types.Resource(uri="test://static-text", name="static-text", description="Static text", mime_type="text/plain"),
    types.Resource(uri="test://static-binary", name="static-binary", description="A PNG", mime_type="image/png"),
    types.Resource(uri="test://watched-resource", name="watched", description="Subscribable", mime_type="text/plain"),
]
TEMPLATE = types.ResourceTemplate(
    uri_template="test://template/{id}/data", name="template", description="Data by id", mime_type="application/json"
)


async def list_resources(ctx: Context, params: types.PaginatedRequestParams | None) -> types.ListResourcesResult:
    return types.ListResourcesResult(resources=RESOURCES)


async def list_templates(
    ctx: Context, params: types.PaginatedRequestParams | None
) -> types.ListResourceTemplatesResult:
    return types.ListResourceTemplatesResult(resource_templates=[TEMPLATE])


async def read_resource(ctx: Context, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
    uri = params.uri
    contents: types.TextResourceContents | types.BlobResourceContents
    if uri == "test://static-text":
        contents = types.TextResourceContents(uri=uri, mime_type="text/plain", text=STATIC_TEXT)
    elif uri == "test://static-binary":
        contents = types.BlobResourceContents(uri=uri, mime_type="image/png", blob=PNG_BASE64)
    elif uri == "test://watched-resource":
        contents = types.TextResourceContents(uri=uri, mime_type="text/plain", text="Watched resource content.")
    elif uri.startswith("test://template/") and uri.endswith("/data"):
        item = uri[len("test://template/") : -len("/data")]
        text = json.dumps({"id": item, "templateTest": True, "data": f"Data for ID: {item}"})
        contents = types.TextResourceContents(uri=uri, mime_type="application/json", text=text)
    else:
        raise MCPError(-32002, f"Resource not found: {uri}")
    return types.ReadResourceResult(contents=[contents])


async def subscribe(ctx: Context, params: types.SubscribeRequestParams) -> types.EmptyResult:
    return types.EmptyResult()


async def unsubscribe(ctx: Context, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
    return types.EmptyResult()


def _argument(name: str, description: str) -> types.PromptArgument:
    return types.PromptArgument(name=name, description=description, required=True)


PROMPTS = [
    types.Prompt(name="test_simple_prompt", description="A simple prompt"),
    types.Prompt(
        name="test_prompt_with_arguments",
        description="A prompt with arguments",
        arguments=[_argument("arg1", "First test argument"), _argument("arg2", "Second test argument")],
    ),
    types.Prompt(
        name="test_prompt_with_embedded_resource",
        description="A prompt embedding a resource",
        arguments=[_argument("resourceUri", "URI of the resource to embed")],
    ),
    types.Prompt(name="test_prompt_with_image", description="A prompt with an image"),
]


async def list_prompts(ctx: Context, params: types.PaginatedRequestParams | None) -> types.ListPromptsResult:
    return types.ListPromptsResult(prompts=PROMPTS)


async def get_prompt(ctx: Context, params: types.GetPromptRequestParams) -> types.GetPromptResult:
    arguments = params.arguments or {}
    blocks: Content
    if params.name == "test_simple_prompt":
        blocks = [_text("This is a simple prompt for testing.")]
    elif params.name == "test_prompt_with_arguments":
        blocks = [_text(f"Prompt with arguments: arg1='{arguments.get('arg1')}', arg2='{arguments.get('arg2')}'")]
    elif params.name == "test_prompt_with_embedded_resource":
        embedded = _embedded(
            arguments.get("resourceUri", "test://example-resource"), "Embedded resource content for testing."
        )
        blocks = [embedded, _text("Please process the embedded resource above.")]
    elif params.name == "test_prompt_with_image":
        blocks = [_image(), _text("Please analyze the image above.")]
    else:
        raise MCPError(-32602, f"Unknown prompt {params.name!r}")
    return types.GetPromptResult(messages=[types.PromptMessage(role="user", content=block) for block in blocks])


async def complete(ctx: Context, params: types.CompleteRequestParams) -> types.CompleteResult:
    values = [word for word in ("paris", "park", "party") if word.startswith(params.argument.value)]
    return types.CompleteResult(completion=types.Completion(values=values, total=len(values), has_more=False))


async def set_level(ctx: Context, params: types.SetLevelRequestParams) -> types.EmptyResult:
    return types.EmptyResult()


def build_server() -> Server[Any]:
    return Server(
        "mcp-conformance-reference",
        version="1.0.0",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_subscribe_resource=subscribe,
        on_unsubscribe_resource=unsubscribe,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_completion=complete,
        on_set_logging_level=set_level,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    app = build_server().streamable_http_app(host=args.host)  # DNS-rebinding protection for loopback hosts
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
