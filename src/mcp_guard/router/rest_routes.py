"""The REST routes under the gateway's mount: one table of `Endpoint`s, matched by `GatewayRouter` (the
package's `__init__`) and documented by `openapi.py`, which adds its own route to make `ROUTES`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.routing import Route

from ..chat.endpoint import chat_completions
from . import admin, credentials_admin, reports, rest, rest_items, servers_admin

Handler = Callable[..., Awaitable[None]]

OPENAPI_PATH = "/openapi.json"


@dataclass(frozen=True)
class Endpoint:
    """One REST route. `access`: "public" = anyone (the middlewares exempt it); "any" = whoever passed the
    middlewares; "operator" = an admin key, or anyone when no KeyAuthMiddleware is installed (the gateway is
    then open anyway); "admin" = an admin key, always."""

    method: str
    path: str
    handler: Handler
    access: str
    summary: str
    route: Route = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "route", Route(self.path, self.handler, methods=[self.method]))


REST_ROUTES: list[Endpoint] = [
    Endpoint("GET", "/tools", rest.list_tools, "any", "The caller's visible tools"),
    Endpoint("POST", "/tool/execute", rest.execute_tool, "any", "Execute one tool call (OpenAI format)"),
    Endpoint("GET", "/resources", rest_items.list_resources, "any", "The caller's visible resources"),
    Endpoint("GET", "/resources/templates", rest_items.list_resource_templates, "any", "Visible resource templates"),
    Endpoint("GET", "/resources/read", rest_items.read_resource, "any", "Read one resource (?uri=)"),
    Endpoint("POST", "/resources/read", rest_items.read_resource_posted, "any", "Read one resource ({uri})"),
    Endpoint("GET", "/prompts", rest_items.list_prompts, "any", "The caller's visible prompts"),
    Endpoint("POST", "/prompts/get", rest_items.get_prompt, "any", "Get one prompt with its arguments"),
    Endpoint("GET", "/servers", rest.list_servers, "any", "State of every upstream server"),
    Endpoint("POST", "/servers/{name}/reconnect", rest.reconnect_server, "operator", "Reconnect one upstream"),
    Endpoint("POST", "/servers", servers_admin.add_server, "admin", "Add an upstream server at runtime"),
    Endpoint("GET", "/servers/{name}", servers_admin.get_server, "admin", "One server's state and configuration"),
    Endpoint("PUT", "/servers/{name}", servers_admin.replace_server, "admin", "Replace a runtime server"),
    Endpoint("PATCH", "/servers/{name}", servers_admin.patch_server, "admin", "Change fields of a server"),
    Endpoint("DELETE", "/servers/{name}", servers_admin.delete_server, "admin", "Remove a runtime server"),
    Endpoint("POST", "/servers/{name}/disable", servers_admin.disable_server, "admin", "Switch a server off"),
    Endpoint("POST", "/servers/{name}/enable", servers_admin.enable_server, "admin", "Switch a server on"),
    Endpoint("POST", "/admin/reload", servers_admin.reload_config, "admin", "Read the configuration file again"),
    Endpoint("GET", "/keys", admin.list_keys, "admin", "Runtime keys"),
    Endpoint("POST", "/keys", admin.create_key, "admin", "Create a runtime key"),
    Endpoint("POST", "/keys/{key_id}/deactivate", admin.deactivate_key, "admin", "Deactivate a runtime key"),
    Endpoint("PUT", "/keys/{key_id}/budget", admin.set_key_budget, "admin", "Set or clear a key's budget"),
    Endpoint("GET", "/credentials/{server}", credentials_admin.list_credentials, "admin", "Who linked a credential"),
    Endpoint("PUT", "/credentials/{server}/{user}", credentials_admin.put_credential, "any", "Link a user's token"),
    Endpoint("DELETE", "/credentials/{server}/{user}", credentials_admin.delete_credential, "any", "Unlink it"),
    Endpoint("GET", "/audit", admin.audit_records, "admin", "Audit records, newest first"),
    Endpoint("GET", "/analytics/costs", admin.cost_analytics, "admin", "Spend, budget and usage by tool"),
    Endpoint("GET", "/analytics/usage", reports.usage, "admin", "Usage report by team, key, tool, period"),
    Endpoint("POST", "/v1/chat/completions", chat_completions, "any", "OpenAI-compatible chat with tools"),
]
