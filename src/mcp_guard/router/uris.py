"""Upstream resource URIs inside results, rewritten to the gateway URIs clients read them by
(`names.gateway_uri`): resource contents, embedded resources and resource links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import mcp_types as types

from ..names import gateway_uri

Contents = TypeVar("Contents", types.TextResourceContents, types.BlobResourceContents)


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
