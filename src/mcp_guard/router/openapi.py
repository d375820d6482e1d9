"""The gateway's OpenAPI 3.1 document: its REST routes (`ROUTES`: the `routes.py` table and the document's
own route), their bodies and answers (`schemas.py` and the request models), the MCP endpoint, and the key as
a security scheme.

Served at `GET <mount>/openapi.json`; the FastAPI and Litestar adapters merge it into the host app's own
document (`merge_into`), so the gateway's routes appear on the app's docs page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..asgi import Scope, send_json
from ..auth.admin import NewKey
from ..budget.config import BudgetConfig
from .rest import ChatToolCall, ResponsesToolCall
from .rest_items import GetPrompt, ReadResource
from .rest_routes import OPENAPI_PATH, REST_ROUTES, Endpoint
from .schemas import RESPONSES

if TYPE_CHECKING:
    from ..host import GatewayHost

_REF = "#/components/schemas/{model}"

SECURITY_SCHEMES: dict[str, Any] = {
    "mcpGuardKey": {"type": "apiKey", "in": "header", "name": "x-api-key", "description": "An mcp-guard key"},
    "mcpGuardBearer": {"type": "http", "scheme": "bearer", "description": "The same key as a Bearer token"},
    "bifrostVirtualKey": {"type": "apiKey", "in": "header", "name": "x-bf-vk", "description": "Bifrost's header"},
}
_SECURITY: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]

_REQUEST_HEADERS = [
    ("x-mcp-include-clients", "Only these servers (comma list)"),
    ("x-mcp-include-tools", "Only these tools: `server/tool`, `server/*`, `server__tool`, `server-tool`"),
    ("x-mcp-exclude-tools", "Never these tools"),
    ("x-mcp-include-resources", "Only these resources: `server/<URI pattern>`"),
    ("x-mcp-exclude-resources", "Never these resources"),
    ("x-mcp-include-prompts", "Only these prompts: `server/prompt`, `server/*`"),
    ("x-mcp-exclude-prompts", "Never these prompts"),
    ("x-mcp-user", "The end user, recorded in the audit log; never used to authorize"),
    ("x-mcp-code-mode", "`true`: every visible tool is shown through Code Mode's meta-tools"),
    ("x-mcp-tool-search", "`true`: tools are found with `search_tools` instead of listed"),
]

# What each route takes and answers beyond its path parameters: (query parameters, body, answer).
_QUERY: dict[str, list[tuple[str, str]]] = {
    "/tools": [("format", "`openai`: OpenAI function definitions instead of MCP tools")],
    "/tool/execute": [("format", "`responses`: a Responses API `function_call` item and answer")],
    "/resources": [("cursor", "`nextCursor` of the previous page")],
    "/resources/templates": [("cursor", "`nextCursor` of the previous page")],
    "/resources/read": [("uri", "GET: the gateway URI, as `GET /resources` shows it")],
    "/prompts": [("cursor", "`nextCursor` of the previous page")],
    "/audit": [
        (name, f"filter by {name}")
        for name in ("key", "team", "tool", "decision", "virtual_server", "since", "until", "limit")
    ],
    "/analytics/costs": [("team_id", "the team (all when omitted)"), ("period", "`day`, `week` or `month`")],
}
_BODY: dict[tuple[str, str], list[type[BaseModel]]] = {
    ("POST", "/tool/execute"): [ChatToolCall, ResponsesToolCall],
    ("POST", "/resources/read"): [ReadResource],
    ("POST", "/prompts/get"): [GetPrompt],
    ("POST", "/keys"): [NewKey],
    ("PUT", "/keys/{key_id}/budget"): [BudgetConfig],
}
_ANSWER: dict[tuple[str, str], tuple[int, list[str]]] = {
    ("GET", "/tools"): (200, ["ToolList"]),
    ("POST", "/tool/execute"): (200, ["ToolMessage", "FunctionCallOutput"]),
    ("GET", "/resources"): (200, ["ResourceList"]),
    ("GET", "/resources/templates"): (200, ["ResourceTemplateList"]),
    ("GET", "/resources/read"): (200, ["ResourceContents"]),
    ("POST", "/resources/read"): (200, ["ResourceContents"]),
    ("GET", "/prompts"): (200, ["PromptList"]),
    ("POST", "/prompts/get"): (200, ["PromptMessages"]),
    ("GET", "/servers"): (200, ["ServerList"]),
    ("POST", "/servers/{name}/reconnect"): (202, ["ServerStatus"]),
    ("GET", "/keys"): (200, ["KeyList"]),
    ("POST", "/keys"): (201, ["CreatedKey"]),
    ("POST", "/keys/{key_id}/deactivate"): (200, ["KeyInfo"]),
    ("PUT", "/keys/{key_id}/budget"): (200, ["KeyInfo"]),
    ("GET", "/audit"): (200, ["AuditRecords"]),
    ("GET", "/analytics/costs"): (200, ["CostReport"]),
}


def openapi_document(prefix: str = "/mcp", title: str = "mcp-guard") -> dict[str, Any]:
    """The whole document, every path under `prefix` (the mount point)."""
    from ..version import __version__

    components: dict[str, Any] = {}
    paths: dict[str, Any] = {prefix or "/": _mcp_endpoint()}
    for endpoint in ROUTES:
        item = paths.setdefault(prefix + endpoint.path, {})
        item[endpoint.method.lower()] = _operation(endpoint, components)
    for name, model in RESPONSES.items():
        components.setdefault(name, _schema(model, components))
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": __version__},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
    }


def merge_into(document: dict[str, Any], gateway_document: dict[str, Any]) -> dict[str, Any]:
    """Add the gateway's paths, schemas and security schemes to a host app's document (in place)."""
    document.setdefault("paths", {}).update(gateway_document["paths"])
    components = document.setdefault("components", {})
    for section, entries in gateway_document["components"].items():
        components.setdefault(section, {}).update(entries)
    return document


async def send_openapi(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    """The document with the paths as this client reaches them (below the mount it came through). The
    request's `raw_path` is the path the client sent: frameworks may have cut the mount off `path`."""
    raw: bytes | None = scope.get("raw_path")
    sent = raw.decode("latin-1") if raw else scope.get("path", "")
    prefix = sent.rstrip("/").removesuffix(OPENAPI_PATH)
    await send_json(send, 200, openapi_document(prefix))


# Every REST route `GatewayRouter` matches, and so every route this document lists: defined here because the
# table includes the route that serves the document.
ROUTES: list[Endpoint] = [
    *REST_ROUTES,
    Endpoint("GET", OPENAPI_PATH, send_openapi, "public", "This API's OpenAPI document"),
]


def _operation(endpoint: Endpoint, components: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "operationId": "mcp_guard_" + endpoint.handler.__name__.strip("_"),
        "tags": ["mcp-guard"],
        "parameters": _parameters(endpoint),
        "responses": _responses(endpoint),
    }
    if endpoint.access != "public":
        operation["security"] = _SECURITY
    bodies = _BODY.get((endpoint.method, endpoint.path))
    if bodies:
        schemas = [_schema(model, components) for model in bodies]
        schema = schemas[0] if len(schemas) == 1 else {"oneOf": schemas}
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    elif endpoint.path.endswith("/chat/completions"):
        schema = {"$ref": _REF.format(model="ChatCompletionRequest")}
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    return operation


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in endpoint.path.split("/") if part.startswith("{")]
    parameters = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": text}
        for name, text in _QUERY.get(endpoint.path, [])
    ]
    if endpoint.access == "any":
        parameters += [
            {"name": name, "in": "header", "required": False, "schema": {"type": "string"}, "description": text}
            for name, text in _REQUEST_HEADERS
        ]
    return parameters


def _responses(endpoint: Endpoint) -> dict[str, Any]:
    status, names = _ANSWER.get((endpoint.method, endpoint.path), (200, []))
    refs = [{"$ref": _REF.format(model=name)} for name in names]
    schema: dict[str, Any] = {"type": "object"} if not refs else refs[0] if len(refs) == 1 else {"oneOf": refs}
    problem = {"application/problem+json": {"schema": {"$ref": _REF.format(model="Problem")}}}
    return {
        str(status): {"description": "Success", "content": {"application/json": {"schema": schema}}},
        "default": {"description": "A refusal or failure (RFC 9457)", "content": problem},
    }


def _mcp_endpoint() -> dict[str, Any]:
    message = {"type": "object", "description": "A JSON-RPC 2.0 message (MCP streamable HTTP)"}
    answer = {"description": "The JSON-RPC answer (JSON or an SSE stream)"}
    denied = {"description": "No key, or an unknown one"}
    described = {"tags": ["mcp-guard"], "security": _SECURITY, "responses": {"200": answer, "401": denied}}
    return {
        "post": {
            **described,
            "summary": "MCP endpoint (2026-07-28 and handshake-era clients)",
            "operationId": "mcp_guard_mcp",
            "requestBody": {"required": True, "content": {"application/json": {"schema": message}}},
        },
        "get": {**described, "summary": "MCP event stream of a session", "operationId": "mcp_guard_mcp_stream"},
        "delete": {**described, "summary": "End an MCP session", "operationId": "mcp_guard_mcp_end"},
    }


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    """A `$ref` to `model`'s schema, which goes into `components` with the schemas it uses."""
    schema = model.model_json_schema(ref_template=_REF)
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault(model.__name__, schema)
    return {"$ref": _REF.format(model=model.__name__)}
