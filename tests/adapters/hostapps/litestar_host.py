"""A Litestar items service, as it was before mcp-guard."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, WebSocket, get, websocket
from litestar.config.cors import CORSConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.plugins import PluginProtocol
from litestar.static_files import create_static_files_router
from mcp_guard_litestar import Principal, governed_route

from .suite import FRONT_END, ITEMS, STATIC, Paths, app_user

PATHS = Paths(docs="/schema", openapi="/schema/openapi.json")


def app_auth(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The app's own guard: its Bearer tokens."""
    if app_user(connection.headers.get("authorization")) is None:
        raise NotAuthorizedException("Not authenticated")


@get("/")
async def index() -> dict[str, str]:
    return {"service": "items"}


@get("/items/{item_id:int}", guards=[app_auth])
async def item(item_id: FromPath[int], request: Request[Any, Any, Any]) -> dict[str, Any]:
    if item_id not in ITEMS:
        raise NotFoundException("No such item")
    return {**ITEMS[item_id], "owner": app_user(request.headers.get("authorization"))}


@get("/state")
async def state(state: State) -> dict[str, Any]:
    return {"started": state.started}


@websocket("/ws")
async def echo(socket: WebSocket[Any, Any, Any], token: FromQuery[str] = "") -> None:
    user = app_user(f"Bearer {token}")
    if user is None:
        await socket.close(code=1008)
        return
    await socket.accept()
    await socket.send_text(f"{user}: {await socket.receive_text()}")
    await socket.close()


def create_app(plugins: Sequence[PluginProtocol] = ()) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.started = True
        yield

    return Litestar(
        route_handlers=[index, item, state, echo, create_static_files_router("/static", directories=[STATIC])],
        cors_config=CORSConfig(allow_origins=[FRONT_END], allow_headers=["authorization"]),
        lifespan=[lifespan],
        plugins=list(plugins),
        logging_config=None,  # Litestar's default would configure the root logger of the whole test run
    )


def opt_in(app: Litestar) -> None:
    """The team's next step after adding the plugin: two of its routes opt in to the gateway."""

    @get("/reports/{report_id:str}", guards=[governed_route(tool="billing/invoice_total", rate="3/minute", cost=0.5)])
    async def report(report_id: FromPath[str]) -> dict[str, str]:
        return {"report": report_id}

    @get("/whoami")
    async def whoami(principal: NamedDependency[Principal]) -> dict[str, str]:
        return {"key": principal.key_name}

    app.register(report)
    app.register(whoami)


REPORT_ROUTE = "GET /reports/{report_id}"
