"""Upstream results as the gateway's clients are shown them: the resource URIs inside (resource contents,
embedded resources, resource links) rewritten to the gateway URIs clients read them by
(`names.gateway_uri`), and the upstream's own `serverInfo` stamp dropped, so the SDK stamps the gateway's
(2026-07-28) instead of the upstream's name reaching the client as the server's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import mcp_types as types

from ..names import gateway_uri

Contents = TypeVar("Contents", types.TextResourceContents, types.BlobResourceContents)
Result = TypeVar("Result", bound=types.Result)
SERVER_INFO = "io.modelcontextprotocol/serverInfo"


def unstamped(result: Result, **update: Any) -> Result:
    """A copy of an upstream's `result` with `update` applied and without the upstream's `serverInfo`."""
    meta = result.meta
    if meta is not None and SERVER_INFO in meta:
        update["meta"] = {key: value for key, value in meta.items() if key != SERVER_INFO} or None
    return result.model_copy(update=update) if update else result


def shown_contents(server: str, contents: Sequence[Contents]) -> list[Contents]:
    return [item.model_copy(update={"uri": gateway_uri(server, item.uri)}) for item in contents]


def shown_block(server: str, block: types.ContentBlock) -> types.ContentBlock:
    """A content block with the resource it embeds or links to under its gateway URI."""
    if isinstance(block, types.EmbeddedResource):
        resource = block.resource.model_copy(update={"uri": gateway_uri(server, block.resource.uri)})
        return block.model_copy(update={"resource": resource})
    if isinstance(block, types.ResourceLink):
        return block.model_copy(update={"uri": gateway_uri(server, block.uri)})
    return block
