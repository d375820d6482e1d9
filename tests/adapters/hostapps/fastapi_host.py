"""A FastAPI items service, as it was before mcp-guard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request, WebSocket
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from mcp_guard_fastapi import CurrentPrincipal, governed_route

from .suite import FRONT_END, ITEMS, STATIC, Paths, app_user

PATHS = Paths(docs="/docs", openapi="/openapi.json")


async def current_user(authorization: Annotated[str | None, Header()] = None) -> str:
    user = app_user(authorization)
    if user is None:
        raise HTTPException(401, "Not authenticated", headers={"WWW-Authenticate": "Bearer"})
    return user


def create_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield {"started": True}

    app = FastAPI(title="items", lifespan=lifespan)
    app.add_middleware(CORSMiddleware, allow_origins=[FRONT_END], allow_methods=["*"], allow_headers=["authorization"])
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/")
    async def index() -> dict[str, str]:
        return {"service": "items"}

    @app.get("/items/{item_id}")
    async def item(item_id: int, user: Annotated[str, Depends(current_user)]) -> dict[str, Any]:
        if item_id not in ITEMS:
            raise HTTPException(404, "No such item")
        return {**ITEMS[item_id], "owner": user}

    @app.get("/state")
    async def state(request: Request) -> dict[str, Any]:
        return {"started": request.state.started}

    @app.websocket("/ws")
    async def echo(websocket: WebSocket, token: str = "") -> None:
        user = app_user(f"Bearer {token}")
        if user is None:
            await websocket.close(code=1008)
            return
        await websocket.accept()
        await websocket.send_text(f"{user}: {await websocket.receive_text()}")
        await websocket.close()

    return app


def opt_in(app: FastAPI) -> None:
    """The team's next step after `install`: two of its routes opt in to the gateway."""

    @app.get(
        "/reports/{report_id}", dependencies=[governed_route(tool="billing/invoice_total", rate="3/minute", cost=0.5)]
    )
    async def report(report_id: str) -> dict[str, str]:
        return {"report": report_id}

    @app.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, str]:
        return {"key": principal.key_name}


REPORT_ROUTE = "GET /reports/{report_id}"
