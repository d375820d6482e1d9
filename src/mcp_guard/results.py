"""Turning tool results and refusals into what each kind of caller reads."""

from __future__ import annotations

import mcp_types as types
import pydantic_core

from .errors import GatewayError

META_REASON = "mcp-guard/reason"
META_STATUS = "mcp-guard/status"


def error_result(error: GatewayError) -> types.CallToolResult:
    """A refusal or upstream failure as an MCP `is_error` result; `_meta` carries the machine reason."""
    meta = {
        META_REASON: error.reason,
        META_STATUS: error.status,
        **{f"mcp-guard/{k}": v for k, v in error.extra.items()},
    }
    return types.CallToolResult(content=[types.TextContent(type="text", text=error.message)], is_error=True, _meta=meta)


def result_text(result: types.CallToolResult) -> str:
    """One string for an OpenAI `tool` message: the text blocks, else the structured content as JSON.

    Non-text blocks (image, audio, resource) are described in one line each rather than inlined as
    base64, which a chat model could not use and which would burn its context.
    """
    texts = [_block_text(block) for block in result.content]
    if result.structured_content is not None and not any(isinstance(b, types.TextContent) for b in result.content):
        texts.insert(0, pydantic_core.to_json(result.structured_content).decode())
    return "\n".join(texts)


def _block_text(block: types.ContentBlock) -> str:
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, (types.ImageContent, types.AudioContent)):
        kind = "image" if isinstance(block, types.ImageContent) else "audio"
        return f"[{kind}: {block.mime_type}, {len(block.data) * 3 // 4} bytes]"
    if isinstance(block, types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, types.TextResourceContents):
            return resource.text
        return f"[resource: {resource.uri}, {resource.mime_type or 'binary'}]"
    if isinstance(block, types.ResourceLink):
        return f"[resource link: {block.uri}]"
    return pydantic_core.to_json(block.model_dump(by_alias=True, exclude_none=True, mode="json")).decode()
