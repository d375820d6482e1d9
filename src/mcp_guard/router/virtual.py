"""Virtual servers on the MCP endpoint (`mcp_guard.virtual`): which request is for one, its rule put among
the request's access rules, its sessions bound to it, and its upstream's own names on a single-upstream
endpoint.

Paths: `<mount>/s/<name>`, and Bifrost's `<mount>/<name>`. The short form is unambiguous because a virtual
server may not be named like a first segment of the mount's own routes (`RESERVED_NAMES`, checked at
config load), so no path is both.

Sessions: the SDK binds a handshake-era session to `scope["user"]`'s (client id, issuer, subject). On a
virtual server the endpoint is added to the subject of the gateway's user for the key (or token), so a
session opened at one endpoint is unknown (404) at every other, and to every other caller, as at the root
endpoint.

Names: an endpoint over one upstream shows that upstream's tools, prompts and resource URIs as the upstream
names them. `UnprefixedNames`, an SDK server middleware, turns a request's names into the gateway's
(`server/tool`, `server/prompt`, `mcp-guard://server/<URI>`, all read back by `names.py`) before the
handlers see them, and the results' names back into the upstream's, so the handlers and the pipeline are
the same for every endpoint. A 2026-07-28 listen stream's acknowledgment and update events are
notifications, not results: `list_changed.py` shows them under the upstream's URIs itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from pydantic import BaseModel

from ..names import gateway_uri, local_name, local_uri
from ..state import RequestState, ToolAccess
from ..virtual import RESERVED_NAMES, VirtualServerConfig, VirtualServerRule, virtual_rule

if TYPE_CHECKING:
    from ..host import GatewayHost

PREFIX = "/s/"


def virtual_name(path: str, configured: Mapping[str, Any]) -> str | None:
    """The virtual server a path under the mount addresses: `/s/<name>` (whether configured or not, so an
    unknown one is a 404 naming the configured ones) or `/<name>` for a configured one; None otherwise."""
    trimmed = path.rstrip("/") if path != "/" else path
    if trimmed.startswith(PREFIX) or trimmed == PREFIX.rstrip("/"):
        return trimmed[len(PREFIX) :]
    name = trimmed[1:]
    return name if name in configured and name not in RESERVED_NAMES else None


class VirtualServers:
    """The rules of the configured virtual servers, built once per configuration (it changes on reload)."""

    def __init__(self, gateway: GatewayHost) -> None:
        self._gateway = gateway
        self._rules: dict[str, tuple[VirtualServerConfig, VirtualServerRule]] = {}

    def rule(self, name: str) -> VirtualServerRule:
        configured = self._gateway.config.virtual_servers
        config = configured.get(name)
        cached = self._rules.get(name)
        if config is not None and cached is not None and cached[0] is config:
            return cached[1]
        rule = virtual_rule(configured, name)  # UnknownVirtualServer names the configured ones
        self._rules[name] = (configured[name], rule)
        return rule

    def enter(self, scope: MutableMapping[str, Any], name: str) -> Any:
        """Apply virtual server `name` to the request; the SDK user its sessions are bound to."""
        state = RequestState.from_scope(scope)
        state.access.append(self.rule(name))
        state.virtual_server = name
        return endpoint_user(state.mcp_user, name)


def endpoint_user(user: Any, name: str) -> AuthenticatedUser:
    """The caller's SDK user with the virtual server added to its subject, every other component (client id,
    issuer claim) kept, so two callers still differ on it; a keyless gateway: the endpoint alone."""
    endpoint = f"virtual-server:{name}"
    if not isinstance(user, AuthenticatedUser):
        return AuthenticatedUser(AccessToken(token="", client_id="", scopes=[], subject=endpoint))
    token = user.access_token
    subject = endpoint if token.subject is None else f"{token.subject} {endpoint}"
    return AuthenticatedUser(token.model_copy(update={"subject": subject}))


def unprefixed_server(rules: Iterable[ToolAccess]) -> str | None:
    """The upstream whose own names a request's endpoint shows, if it is a single-upstream virtual server
    (`rules`: the request's access rules, `RequestState.access`)."""
    for rule in rules:
        if isinstance(rule, VirtualServerRule):
            return rule.unprefixed
    return None


class UnprefixedNames:
    """An SDK `ServerMiddleware`: on a single-upstream virtual server, requests name things as the upstream
    does and results are shown so (see the module docstring). Elsewhere it only passes the message on.
    Results reach it as wire dictionaries (camelCase)."""

    def __init__(self, gateway: GatewayHost) -> None:
        self._gateway = gateway

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        request = ctx.request
        server = unprefixed_server(RequestState.from_scope(request.scope).access) if request is not None else None
        if server is None:
            return await call_next(ctx)
        params = _inbound(server, ctx.params) if ctx.params else ctx.params
        result = await call_next(dataclasses.replace(ctx, params=params))
        rename = _RESULTS.get(ctx.method)
        if rename is None or result is None:
            return result
        wire = _wire(result)
        if ctx.method == "tools/list":  # exposed names may be shortened: the catalog knows the tool
            return {**wire, "tools": [self._tool(server, tool) for tool in wire.get("tools", ())]}
        return rename(server, wire)

    def _tool(self, server: str, tool: dict[str, Any]) -> dict[str, Any]:
        entry = self._gateway.catalog.resolve(tool["name"])
        if entry is None or entry.ref.server != server:  # a meta-tool (Code Mode, tool search): as it is
            return tool
        return {**tool, "name": entry.ref.tool}


def _wire(result: BaseModel | dict[str, Any]) -> dict[str, Any]:
    return result.model_dump(by_alias=True, exclude_none=True, mode="json") if isinstance(result, BaseModel) else result


def _inbound(server: str, params: Mapping[str, Any]) -> dict[str, Any]:
    params = dict(params)
    if isinstance(params.get("name"), str):  # tools/call, prompts/get
        params["name"] = f"{server}/{params['name']}"
    if isinstance(params.get("uri"), str):  # resources/read, subscribe, unsubscribe
        params["uri"] = gateway_uri(server, params["uri"])
    ref = params.get("ref")
    if isinstance(ref, dict):  # completion/complete
        params["ref"] = _inbound(server, ref)
    wanted = params.get("notifications")
    if isinstance(wanted, dict) and isinstance(wanted.get("resourceSubscriptions"), list):  # subscriptions/listen
        uris = [gateway_uri(server, u) if isinstance(u, str) else u for u in wanted["resourceSubscriptions"]]
        params["notifications"] = {**wanted, "resourceSubscriptions": uris}
    return params


Wire = dict[str, Any]


def _items(key: str, *fields: str) -> Callable[[str, Wire], Wire]:
    """A listing's items with their name (and URI field) as `server` has them."""

    def rename(server: str, wire: Wire) -> Wire:
        return {**wire, key: [_local(server, item, fields) for item in wire.get(key, ())]}

    return rename


def _local(server: str, item: Wire, fields: tuple[str, ...]) -> Wire:
    item = {**item, **{f: local_uri(server, item[f]) for f in fields if isinstance(item.get(f), str)}}
    return {**item, "name": local_name(server, item["name"])} if isinstance(item.get("name"), str) else item


def _read(server: str, wire: Wire) -> Wire:
    return {**wire, "contents": [_local_uri(server, c) for c in wire.get("contents", ())]}


def _prompt(server: str, wire: Wire) -> Wire:
    return {**wire, "messages": [{**m, "content": _block(server, m.get("content"))} for m in wire.get("messages", ())]}


def _block(server: str, block: Any) -> Any:
    if not isinstance(block, dict):
        return block
    if block.get("type") == "resource" and isinstance(block.get("resource"), dict):
        return {**block, "resource": _local_uri(server, block["resource"])}
    if block.get("type") == "resource_link":
        return _local_uri(server, block)
    return block


def _local_uri(server: str, item: Wire) -> Wire:
    return {**item, "uri": local_uri(server, item["uri"])} if isinstance(item.get("uri"), str) else item


_RESULTS: dict[str, Callable[[str, Wire], Wire]] = {
    "tools/list": lambda server, wire: wire,  # handled with the catalog (`UnprefixedNames._tool`)
    "resources/list": _items("resources", "uri"),
    "resources/templates/list": _items("resourceTemplates", "uriTemplate"),
    "prompts/list": _items("prompts"),
    "resources/read": _read,
    "prompts/get": _prompt,
}
