"""The shapes of the REST responses, for the OpenAPI document (`openapi.py`).

The handlers build their answers as plain dicts (the hot path); these models say what those dicts hold.
`tests/unit/test_openapi.py` checks real responses against the document, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    """Responses may grow fields; clients should ignore what they do not know."""

    model_config = ConfigDict(extra="allow")


class Problem(_Open):
    """RFC 9457 problem details: every refusal of a gateway route."""

    type: str = Field(description="`urn:mcp-guard:problem:<reason>`")
    title: str
    status: int
    detail: str
    instance: str | None = None


class ToolMessage(_Open):
    """The tool message to append to the conversation."""

    role: Literal["tool"]
    tool_call_id: str
    content: str
    is_error: bool | None = Field(None, description="Present (true) when the tool reported an error.")


class FunctionCallOutput(_Open):
    """`?format=responses`: a Responses API item."""

    type: Literal["function_call_output"]
    call_id: str
    output: str
    is_error: bool | None = None


class ToolInfo(_Open):
    name: str = Field(description="The exposed name (`server__tool`).")
    ref: str | None = Field(description="`server/tool`; null for Code Mode's meta-tools.")
    server: str | None
    inputSchema: dict[str, Any]
    description: str | None = None


class ToolList(_Open):
    tools: list[ToolInfo]


class ResourceInfo(_Open):
    uri: str = Field(description="The gateway URI, `mcp-guard://<server>/<the server's URI>`.")
    name: str = Field(description="`server__name`.")
    mimeType: str | None = None
    description: str | None = None


class ResourceList(_Open):
    resources: list[ResourceInfo]
    nextCursor: str | None = Field(None, description="Present when there is another page: pass it as `?cursor=`.")


class ResourceTemplateInfo(_Open):
    uriTemplate: str = Field(description="An RFC 6570 template of gateway URIs.")
    name: str
    description: str | None = None


class ResourceTemplateList(_Open):
    resourceTemplates: list[ResourceTemplateInfo]
    nextCursor: str | None = None


class ResourceContents(_Open):
    """The MCP `resources/read` result: text or base64 `blob` contents, under gateway URIs."""

    contents: list[dict[str, Any]]


class PromptInfo(_Open):
    name: str = Field(description="`server__prompt`: what `POST /prompts/get` takes.")
    description: str | None = None
    arguments: list[dict[str, Any]] | None = None


class PromptList(_Open):
    prompts: list[PromptInfo]
    nextCursor: str | None = None


class PromptMessages(_Open):
    """The MCP `prompts/get` result: `{role, content}` messages; embedded resources under gateway URIs."""

    description: str | None = None
    messages: list[dict[str, Any]]


class ServerStatus(_Open):
    name: str
    transport: str
    state: Literal["connecting", "connected", "degraded", "disconnected", "disabled"]
    last_error: str | None
    last_check: float | None
    tool_count: int


class ServerList(_Open):
    servers: list[ServerStatus]


class KeyInfo(_Open):
    id: str
    name: str
    roles: list[str]
    team: str | None
    customer: str | None
    active: bool
    expires_at: float | None


class CreatedKey(KeyInfo):
    key: str = Field(description="The new key, shown once.")


class KeyList(_Open):
    keys: list[KeyInfo]


class AuditRecordOut(_Open):
    time: float
    request_id: str
    call_id: str
    server: str
    tool: str
    decision: Literal["allowed", "denied"]
    outcome: str
    key_name: str | None
    cost: float


class AuditRecords(_Open):
    records: list[AuditRecordOut]


class ToolUsage(_Open):
    tool: str = Field(description="`server/tool`, or `llm/<provider>/<model>` for model spend.")
    calls: int
    cost: float


class CostReport(_Open):
    team_id: str | None
    period: Literal["day", "week", "month"]
    since: float
    until: float
    total: float
    calls: int
    budget: float | None
    remaining: float | None
    usage: list[ToolUsage]


class ChatCompletionRequest(_Open):
    """OpenAI Chat Completions; every field the provider understands is forwarded."""

    model: str = Field(description="`<provider>/<model>`, e.g. `openai/gpt-4.1`.")
    messages: list[dict[str, Any]]


RESPONSES: dict[str, type[BaseModel]] = {
    model.__name__: model
    for model in (
        Problem,
        ToolMessage,
        FunctionCallOutput,
        ToolList,
        ResourceList,
        ResourceTemplateList,
        ResourceContents,
        PromptList,
        PromptMessages,
        ServerStatus,
        ServerList,
        KeyInfo,
        CreatedKey,
        KeyList,
        AuditRecords,
        CostReport,
        ChatCompletionRequest,
    )
}
