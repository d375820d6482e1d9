"""FastMCP's proxy in front of the benchmark upstream, in its fairest setting: the backend session reused.

Runs under FastMCP's own virtual environment (`bench/.fastmcp-venv`, made by `bench/_fastmcp_env.py`), never
the project's. FastMCP reuses one backend session only when `create_proxy` is handed an already-connected
`fastmcp.Client` (a URL or a disconnected client opens a fresh backend session per request); `--servers N`
mounts N such proxies, one connected client each, under namespaces `echo0..`, for the idle-memory figure.

    bench/.fastmcp-venv/bin/python bench/fastmcp_proxy.py --upstream URL --port 9300 [--servers 1]
"""

from __future__ import annotations

import argparse
import logging
from contextlib import AsyncExitStack

import anyio
from fastmcp import Client, FastMCP  # type: ignore[import-not-found]  # FastMCP's own environment
from fastmcp.server import create_proxy  # type: ignore[import-not-found]


async def serve(upstream: str, port: int, servers: int) -> None:
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(Client(upstream)) for _ in range(servers)]
        if servers == 1:
            proxy = create_proxy(clients[0], name="fastmcp-proxy")
        else:
            proxy = FastMCP("fastmcp-proxy")
            for index, client in enumerate(clients):
                proxy.mount(create_proxy(client, name=f"echo{index}"), namespace=f"echo{index}")
        await proxy.run_http_async(
            show_banner=False,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            json_response=True,  # like the upstream and mcp-guard: one JSON body per reply
            uvicorn_config={"access_log": False},
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--servers", type=int, default=1)
    args = parser.parse_args()
    logging.getLogger("fastmcp").setLevel(logging.WARNING)
    anyio.run(serve, args.upstream, args.port, args.servers)


if __name__ == "__main__":
    main()
