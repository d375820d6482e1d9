"""Admin endpoints that change upstream servers while the gateway runs, and reload its configuration.

    POST   /servers                  add a server (the fields of a YAML server entry, with `name`)
    GET    /servers/{name}           its state and configuration (header and env values masked)
    PUT    /servers/{name}           replace a runtime server
    PATCH  /servers/{name}           change some fields of a runtime server (file servers: `enabled` only)
    DELETE /servers/{name}           remove a runtime server
    POST   /servers/{name}/disable   switch any server off (and `/enable` on again), kept in the store
    POST   /admin/reload             read the configuration file again

Servers are validated as at start-up (`ServerConfig`), kept in the shared store and applied by every
gateway process within a second (`servers/manager.py`). Servers of the configuration file change only
through the file (and `POST /admin/reload` or SIGHUP). Over the API only the transports in
`servers_api.transports` are accepted (`http` and `sse` by default): a stdio server runs a command on the
gateway's host, an in-process one imports code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..asgi import Scope, send_json
from ..config import ServerConfig
from ..errors import BadRequest, ConfigError, GatewayError, NotFound, ServiceUnavailable
from ..servers.store import ServerRecord, ServerStore
from .admin import _validated
from .rest import read_json

if TYPE_CHECKING:
    from ..host import GatewayHost

MASK = "***"


class Conflict(GatewayError):
    status, title, reason = 409, "Conflict", "conflict"


async def add_server(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    await _store(gateway)  # opened first: its runtime servers count for the name check
    name = await add_runtime_server(gateway, await _body(gateway, scope, receive))
    await send_json(send, 201, _described(gateway, name))


async def add_runtime_server(gateway: GatewayHost, body: dict[str, Any]) -> str:
    """Validate a server entry (with its `name`), keep it in the shared store and start it; its name.
    `Conflict` if the name is taken, `BadRequest` naming the bad field. The dashboard's form calls this too."""
    store = await _store(gateway)
    name = body.get("name")
    if not isinstance(name, str):
        raise BadRequest("name: a server needs a name")
    config = _checked(gateway, {**body, "name": name})
    if name in gateway.upstream_manager.wanted():
        raise Conflict(f"Server {name!r} exists; change it with PUT or PATCH /servers/{name}")
    await store.put(ServerRecord(name, _entry(config)))
    await gateway.upstream_manager.reconcile()
    return name


async def get_server(gateway: GatewayHost, scope: Scope, receive: Any, send: Any, *, name: str) -> None:
    await _store(gateway)
    _known(gateway, name)
    await send_json(send, 200, _described(gateway, name))


async def replace_server(gateway: GatewayHost, scope: Scope, receive: Any, send: Any, *, name: str) -> None:
    await _store(gateway)
    body = await _body(gateway, scope, receive)
    if body.get("name", name) != name:
        raise BadRequest(f"name: the body names {body['name']!r}, the path {name!r}")
    await _put_runtime(gateway, name, {**body, "name": name})
    await send_json(send, 200, _described(gateway, name))


async def patch_server(gateway: GatewayHost, scope: Scope, receive: Any, send: Any, *, name: str) -> None:
    await _store(gateway)
    body = await _body(gateway, scope, receive)
    current = _known(gateway, name)
    if gateway.upstream_manager.source(name) == "config":
        if set(body) - {"enabled"}:
            raise Conflict(f"Server {name!r} is defined in the configuration file: change it there and reload")
        await _set_enabled(gateway, name, _enabled_value(body))
    else:
        await _put_runtime(gateway, name, {**_entry(current), **body, "name": name})
    await send_json(send, 200, _described(gateway, name))


async def delete_server(gateway: GatewayHost, scope: Scope, receive: Any, send: Any, *, name: str) -> None:
    await remove_runtime_server(gateway, name)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def disable_server(gateway: GatewayHost, scope: Scope, receive: Any, send: Any, *, name: str) -> None:
    await switch_server(gateway, name, enabled=False)
    await send_json(send, 200, _described(gateway, name))


async def enable_server(gateway: GatewayHost, scope: Scope, receive: Any, send: Any, *, name: str) -> None:
    await switch_server(gateway, name, enabled=True)
    await send_json(send, 200, _described(gateway, name))


async def remove_runtime_server(gateway: GatewayHost, name: str) -> None:
    """Stop a server added at runtime and remove it from the shared store; `Conflict` for a server of the
    configuration file, `NotFound` for an unknown name."""
    store = await _store(gateway)
    _known(gateway, name)
    _runtime_only(gateway, name)
    await store.put(ServerRecord(name, deleted=True))
    await gateway.upstream_manager.reconcile()


async def switch_server(gateway: GatewayHost, name: str, *, enabled: bool) -> None:
    """Switch a known server on or off, in the shared store (every gateway process follows); `NotFound`
    for an unknown name. The dashboard's buttons call this too."""
    await _store(gateway)
    _known(gateway, name)
    await _set_enabled(gateway, name, enabled)


async def reload_config(gateway: GatewayHost, scope: Scope, receive: Any, send: Any) -> None:
    try:
        report = await gateway.reload()
    except ConfigError as exc:
        raise BadRequest(f"The configuration was not reloaded (the running one is kept): {exc}") from None
    await send_json(send, 200, report)


# -- helpers


async def _put_runtime(gateway: GatewayHost, name: str, body: dict[str, Any]) -> None:
    _runtime_only(gateway, name)
    config = _checked(gateway, body)
    await (await _store(gateway)).put(ServerRecord(name, _entry(config)))
    await gateway.upstream_manager.reconcile()


async def _set_enabled(gateway: GatewayHost, name: str, enabled: bool) -> None:
    store = await _store(gateway)
    record = store.records().get(name)
    config = record.config if record is not None else None
    if config is not None:  # a runtime server carries its own `enabled`
        await store.put(ServerRecord(name, {**config, "enabled": enabled}))
    else:
        await store.put(ServerRecord(name, enabled=enabled))
    await gateway.upstream_manager.reconcile()


def _checked(gateway: GatewayHost, body: dict[str, Any]) -> ServerConfig:
    config: ServerConfig = _validated(ServerConfig, body)
    allowed = gateway.config.servers_api.transports
    if config.transport not in allowed:
        raise BadRequest(
            f"transport: {config.transport!r} servers cannot be added through the API (allowed: "
            f"{', '.join(allowed)}; see servers_api.transports); define them in the configuration file"
        )
    return config


def _entry(config: ServerConfig) -> dict[str, Any]:
    """A server's YAML entry without its name, as the store keeps it."""
    return config.model_dump(mode="json", exclude={"name"}, exclude_defaults=True)


def _known(gateway: GatewayHost, name: str) -> ServerConfig:
    wanted = gateway.upstream_manager.wanted()
    if name not in wanted:
        raise NotFound(f"No server named {name!r}; known: {', '.join(sorted(wanted)) or 'none'}")
    return wanted[name]


def _runtime_only(gateway: GatewayHost, name: str) -> None:
    if gateway.upstream_manager.source(name) == "config":
        raise Conflict(f"Server {name!r} is defined in the configuration file: change it there and reload")


def _enabled_value(body: dict[str, Any]) -> bool:
    value = body.get("enabled")
    if not isinstance(value, bool):
        raise BadRequest("enabled: expected true or false")
    return value


async def _store(gateway: GatewayHost) -> ServerStore:
    try:
        return await gateway.upstream_manager.follow(gateway.server_store)
    except RuntimeError:
        raise ServiceUnavailable("Runtime servers are unavailable: the gateway is not running") from None


async def _body(gateway: GatewayHost, scope: Scope, receive: Any) -> dict[str, Any]:
    body = await read_json(scope, receive, gateway.config.max_body_bytes)
    if not isinstance(body, dict):
        raise BadRequest("Body must be a JSON object: the fields of a server entry")
    return body


def _described(gateway: GatewayHost, name: str) -> dict[str, Any]:
    config = gateway.upstream_manager.wanted()[name]
    upstream = gateway.upstreams.get(name)
    shown = config.model_dump(mode="json")
    shown["headers"] = {key: MASK for key in config.headers}
    shown["env"] = {key: MASK for key in config.env}
    status = upstream.status.as_dict() if upstream is not None else {"name": name, "state": "connecting"}
    return {**status, "source": gateway.upstream_manager.source(name), "config": shown}
