"""`install` for FastAPI: the Starlette adapter's, plus the gateway's routes in the app's OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import mcp_guard_starlette
from fastapi import FastAPI

from mcp_guard import Gateway
from mcp_guard.router.openapi import merge_into, openapi_document

MOUNT = mcp_guard_starlette.MOUNT


def install(
    app: FastAPI,
    gateway: Gateway,
    *,
    mount: str = MOUNT,
    govern: Iterable[str] = (),
    exempt_paths: Iterable[str] = (),
) -> None:
    """`mcp_guard_starlette.install`, and the gateway's REST routes, their schemas and its key's security
    schemes added to the app's OpenAPI document (`/openapi.json`, `/docs`)."""
    mcp_guard_starlette.install(app, gateway, mount=mount, govern=govern, exempt_paths=exempt_paths)
    add_openapi(app, mount)


def add_openapi(app: FastAPI, mount: str = MOUNT) -> None:
    """Merge the gateway's OpenAPI document (its paths under `mount`) into the one FastAPI generates."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = merge_into(generate(), openapi_document(mount.rstrip("/")))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend its document
