"""What a Code Mode program reads besides tools: the `resources` and `prompts` globals.

The program's `resources.read(uri)` reaches the gateway as a call on `codemode.GATEWAY_SERVER` with the
operation as its tool (`resources.read`) and `{uri}` as its arguments; the bridge has already checked that
the operation is one of `GATEWAY_OPERATIONS`. Here it runs through the same functions as the MCP endpoint
and REST (`router/resources.py`, `router/prompts.py`), so the caller's key, team and filter headers decide
what it may list and read, and every read and get is rate limited, priced and audited (entry point `code`,
the execution as parent). A refusal is a catchable `ToolError` "denied" in the program.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import BadRequest

if TYPE_CHECKING:
    from .host import GatewayHost
    from .state import RequestState


async def gateway_operation(
    gateway: GatewayHost, state: RequestState, operation: str, arguments: dict[str, Any], execution_id: str
) -> Any:
    """The JSON value the program's `await` resolves to; `GatewayError` when refused or failed."""
    # the MCP endpoint's own functions: one path for every entry point
    from .router import prompts, resources
    from .router.aggregate import as_json, page_json

    usage: dict[str, Any] = {"entry_point": "code", "mode": "code", "parent_id": execution_id}
    if operation == "resources.read":
        return as_json(await resources.read(gateway, state, _text(arguments, "uri", operation), **usage))
    if operation == "prompts.get":
        name = _text(arguments, "name", operation)
        return as_json(await prompts.get(gateway, state, name, _prompt_arguments(arguments), **usage))
    cursor = arguments.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise BadRequest(f"{operation}(cursor): the cursor must be a string, as nextCursor gave it")
    if operation == "resources.list":
        items, next_cursor = await resources.resources_page(gateway, state, cursor)
        return page_json("resources", items, next_cursor)
    if operation == "resources.templates":
        templates, next_cursor = await resources.templates_page(gateway, state, cursor)
        return page_json("resourceTemplates", templates, next_cursor)
    if operation == "prompts.list":
        found, next_cursor = await prompts.prompts_page(gateway, state, cursor)
        return page_json("prompts", found, next_cursor)
    raise BadRequest(f"Unknown gateway operation {operation!r}")  # the bridge lets none other through


def _text(arguments: dict[str, Any], name: str, operation: str) -> str:
    value = arguments.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{operation}() needs {name} as a non-empty string")
    return value


def _prompt_arguments(arguments: dict[str, Any]) -> dict[str, str]:
    given = arguments.get("arguments") or {}
    if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
        raise BadRequest("prompts.get(name, arguments): arguments must be an object of strings")
    return given
