"""A Starlette items service, as it was before mcp-guard: Starlette's own `AuthenticationMiddleware`
fills `scope["user"]` on every request (the gateway must not rely on that field)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser, requires
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.schemas import SchemaGenerator
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from .suite import FRONT_END, ITEMS, STATIC, Paths, app_user

PATHS = Paths(docs="/docs", openapi="/schema")
SCHEMAS = SchemaGenerator({"openapi": "3.0.0", "info": {"title": "items", "version": "1.0"}})


class AppTokens(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        user = app_user(conn.headers.get("authorization") or f"Bearer {conn.query_params.get('token', '')}")
        return (AuthCredentials(["authenticated"]), SimpleUser(user)) if user else None


async def index(request: Request) -> JSONResponse:
    return JSONResponse({"service": "items"})


@requires("authenticated", status_code=401)
async def item(request: Request) -> JSONResponse:
    """
    responses:
      200:
        description: One item.
    """
    item_id = int(request.path_params["item_id"])
    if item_id not in ITEMS:
        return JSONResponse({"detail": "No such item"}, status_code=404)
    return JSONResponse({**ITEMS[item_id], "owner": request.user.display_name})


async def state(request: Request) -> JSONResponse:
    return JSONResponse({"started": request.state.started})


async def docs(request: Request) -> Any:
    from starlette.responses import HTMLResponse

    return HTMLResponse("<html><body>items API: see <a href='/schema'>/schema</a></body></html>")


async def schema(request: Request) -> Any:
    return SCHEMAS.OpenAPIResponse(request=request)


async def echo(websocket: WebSocket) -> None:
    if not websocket.user.is_authenticated:
        await websocket.close(code=1008)
        return
    await websocket.accept()
    await websocket.send_text(f"{websocket.user.display_name}: {await websocket.receive_text()}")
    await websocket.close()


def create_app() -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        yield {"started": True}

    return Starlette(
        routes=[
            Route("/", index),
            Route("/items/{item_id:int}", item),
            Route("/state", state),
            Route("/docs", docs, include_in_schema=False),
            Route("/schema", schema, include_in_schema=False),
            WebSocketRoute("/ws", echo),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[
            Middleware(CORSMiddleware, allow_origins=[FRONT_END], allow_methods=["*"], allow_headers=["authorization"]),
            Middleware(AuthenticationMiddleware, backend=AppTokens()),
        ],
        lifespan=lifespan,
    )


def opt_in(app: Starlette) -> None:
    """The team's next step after `install`: two of its endpoints opt in to the gateway."""
    from mcp_guard_starlette import current_principal, governed_route

    @governed_route(tool="billing/invoice_total", rate="3/minute", cost=0.5)
    async def report(request: Request) -> JSONResponse:
        return JSONResponse({"report": request.path_params["report_id"]})

    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse({"key": (await current_principal(request)).key_name})

    app.router.routes += [Route("/reports/{report_id}", report), Route("/whoami", whoami)]


REPORT_ROUTE = "report"
