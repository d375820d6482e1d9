"""What the per-user credential tests share: OAuth callers whose `email` is the user and whose group `staff`
may use the upstream's tools, and a call of its `whoami` tool."""

from __future__ import annotations

from typing import Any

from tests.oauth.gateway import RESOURCE, bearer


def oauth_auth(issuer: str) -> dict[str, Any]:
    """The `auth` section: tokens of `issuer` for the test gateway; the group `staff` → the role `user`."""
    claims = {"user": ["email", "sub"], "roles": "groups", "role_map": {"staff": ["user"]}}
    return {"store": "memory://", "oauth": {"resource": RESOURCE, "issuers": [{"issuer": issuer}], "claims": claims}}


async def whoami(http: Any, token: str, server: str = "identity") -> Any:
    body = {"id": "1", "type": "function", "function": {"name": f"{server}/whoami", "arguments": {}}}
    return await http.post("/mcp/tool/execute", json=body, headers=bearer(token))
