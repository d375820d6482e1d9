"""The demo gateway (`mcp-guard demo`, embedded defaults): its admin key reaches every kind of item the demo's
upstreams offer, tools, resources and prompts, as a new user trying the README would expect."""

import httpx2
import pytest

from mcp_guard.demo import demo_gateway
from mcp_guard.server import standalone_app

pytestmark = pytest.mark.anyio
KEY = "mcpg_demo-test-key"


async def test_the_demo_admin_sees_tools_resources_and_prompts(tmp_path):
    gateway = demo_gateway(tmp_path, KEY)
    async with gateway.lifespan():
        transport = httpx2.ASGITransport(app=standalone_app(gateway))
        async with httpx2.AsyncClient(
            transport=transport, base_url="http://127.0.0.1/mcp", headers={"x-api-key": KEY}
        ) as http:
            tools = (await http.get("/tools")).json()["tools"]
            resources = (await http.get("/resources")).json()["resources"]
            prompts = (await http.get("/prompts")).json()["prompts"]
    assert {tool["server"] for tool in tools} == {"demo", "notes"}
    assert resources and all(resource["uri"].startswith("mcp-guard://notes/") for resource in resources)
    assert prompts and all(prompt["name"].startswith("notes__") for prompt in prompts)
