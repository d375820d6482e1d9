"""The gateway's routes in a Litestar app's OpenAPI document."""

from __future__ import annotations

from typing import Any

from litestar import Litestar


def merge_openapi(app: Litestar, document: dict[str, Any]) -> None:
    """Add the gateway's paths, schemas and security schemes to `app.openapi_schema` (Litestar's public
    OpenAPI object) before it is first served. The entries are plain dicts, which Litestar's serializer
    writes as they are."""
    schema = app.openapi_schema
    schema.paths = {**(schema.paths or {}), **document["paths"]}
    components = document["components"]
    schema.components.schemas = {**schema.components.schemas, **components["schemas"]}
    schema.components.security_schemes = {
        **(schema.components.security_schemes or {}),
        **components["securitySchemes"],
    }
