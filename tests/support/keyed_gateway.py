"""`mcp-guard serve` for a client that cannot send a key (the MCP conformance suite sends no custom
headers): the standalone gateway from a YAML file behind an ASGI layer that adds `Authorization: Bearer
<key>` to each HTTP request that carries no `Authorization` header. Test support only; it listens on
127.0.0.1.

    MCP_GUARD_TEST_KEY=<key> python -m tests.support.keyed_gateway CONFIG --port N
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

import uvicorn

from mcp_guard import Gateway
from mcp_guard.server import standalone_app

KEY_VARIABLE = "MCP_GUARD_TEST_KEY"


class WithKey:
    """Adds the key to requests that have no `Authorization` header; everything else passes unchanged."""

    def __init__(self, app: Any, key: str) -> None:
        self.app = app
        self.authorization = (b"authorization", f"Bearer {key}".encode())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not any(name == b"authorization" for name, _ in scope["headers"]):
            scope = {**scope, "headers": [*scope["headers"], self.authorization]}
        await self.app(scope, receive, send)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    gateway = Gateway.from_yaml(args.config)
    app = WithKey(standalone_app(gateway), os.environ[KEY_VARIABLE])
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
