"""The gateway's OpenAPI document (`GET /mcp/openapi.json`) lists every REST route, and what each route
really answers validates against the schema the document gives it (so the two cannot drift apart)."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mcp_guard import GatewayConfig
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.config import parse_config
from mcp_guard.router import ROUTES
from mcp_guard.server import standalone_app

from .gateway_fixtures import http_client, running_gateway

pytestmark = pytest.mark.anyio

KEY = generate_key()


def config() -> GatewayConfig:
    return parse_config(
        {
            "roles": {"admin": {"tools": ["*"], "admin": True}},
            "teams": {"ops": {"budget": {"limit": 5, "period": "1d"}}},
            "keys": [{"name": "root", "hash": hash_key(KEY), "roles": ["admin"], "team": "ops"}],
            "auth": {"store": "memory://"},
            "budgets": {"storage": "memory://"},
            "pricing": {"default": 0.01},
            "audit": {"sink": "memory://", "synchronous": True},
        }
    )


def answer_schema(document: dict[str, Any], path: str, method: str, status: int) -> Draft202012Validator:
    responses = document["paths"][path][method]["responses"]
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": document["components"]})


async def test_every_route_is_documented_and_answers_as_documented() -> None:
    async with running_gateway(config()) as gateway, http_client(standalone_app(gateway)) as http:
        document = (await http.get("/mcp/openapi.json")).json()  # public: no key
        assert {f"{e.method} /mcp{e.path}" for e in ROUTES} <= {
            f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
        }
        operation_ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
        assert len(operation_ids) == len(set(operation_ids))
        http.headers["x-api-key"] = KEY
        call = {"id": "c1", "type": "function", "function": {"name": "calc__add", "arguments": '{"a": 1, "b": 2}'}}
        created = await http.post("/mcp/keys", json={"name": "bot", "roles": ["admin"]})
        answers = [
            ("/mcp/tools", "get", await http.get("/mcp/tools")),
            ("/mcp/tool/execute", "post", await http.post("/mcp/tool/execute", json=call)),
            ("/mcp/servers", "get", await http.get("/mcp/servers")),
            ("/mcp/servers/{name}/reconnect", "post", await http.post("/mcp/servers/calc/reconnect")),
            ("/mcp/keys", "post", created),
            ("/mcp/keys", "get", await http.get("/mcp/keys")),
            ("/mcp/keys/{key_id}/deactivate", "post", await http.post(f"/mcp/keys/{created.json()['id']}/deactivate")),
            ("/mcp/audit", "get", await http.get("/mcp/audit")),
            ("/mcp/analytics/costs", "get", await http.get("/mcp/analytics/costs", params={"team_id": "ops"})),
        ]
        for path, method, response in answers:
            validator = answer_schema(document, path, method, response.status_code)
            errors = [error.message for error in validator.iter_errors(response.json())]
            assert not errors, f"{method.upper()} {path}: {errors}"
        refused = await http.get("/mcp/tools", headers={"x-api-key": "mcpg_nope"})
        problem = document["components"]["schemas"]["Problem"]
        assert not list(Draft202012Validator(problem).iter_errors(refused.json()))
