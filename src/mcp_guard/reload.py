"""Hot reload: read the configuration file again (SIGHUP, `POST /mcp/admin/reload`) and apply it to the
running gateway without dropping sessions or calls in flight.

A file that fails to load or validate is refused, logged, and the running configuration kept. A valid
one is applied section by section:

- live: `servers` and `blocked_tools` (upstreams are added, replaced beside the old one and drained, or
  retired: `servers/manager.py`), `roles`, `teams`, `customers`, `keys`, `rate_limits.rules` and
  `requests_per_key`, `pricing`, `code_mode`, `agent`, `servers_api`, `virtual_servers` (its
  sessions stay open; a removed one answers 404);
- at the next restart only (the running value is kept and the report says so): where things are stored
  (`auth`, `servers_store`, `budgets`, `audit`, the rest of `rate_limits`, `confirmations`), what the MCP
  endpoint was built with (`max_body_bytes`, `allowed_hosts`, `allowed_origins`), `llm` and
  `observability`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from .config import GatewayConfig, load_config
from .credentials.service import CredentialService
from .errors import ConfigError

if TYPE_CHECKING:
    from .host import GatewayHost

logger = logging.getLogger(__name__)

LIVE = (
    "servers",
    "blocked_tools",
    "roles",
    "teams",
    "customers",
    "keys",
    "pricing",
    "code_mode",
    "agent",
    "servers_api",
    "virtual_servers",
    "client_request_timeout",
    "sampling",
)
LIVE_RATE_LIMITS = ("rules", "requests_per_key")


async def reload_gateway(gateway: GatewayHost, path: str | Path | None = None) -> dict[str, Any]:
    """Apply the file at `path` (default: the one the gateway was started from); `ConfigError` if it is bad."""
    source = Path(path) if path is not None else gateway.config_path
    if source is None:
        raise ConfigError("the gateway was not started from a configuration file: there is nothing to reload")
    try:
        new = gateway.with_code_servers(load_config(source))
        CredentialService.check_servers(gateway.config.credentials, new.servers)  # its settings need a restart
    except ConfigError as exc:
        logger.error("Configuration reload refused, the running configuration is kept: %s", exc)
        raise
    old = gateway.config
    effective, restart_needed = _live_part(old, new)
    applied = [name for name in GatewayConfig.model_fields if getattr(old, name) != getattr(effective, name)]
    gateway.config = effective
    gateway.governance.reconfigure(effective)
    await gateway.upstream_manager.reconcile()
    logger.info(
        "Configuration reloaded from %s: changed %s%s",
        source,
        ", ".join(applied) or "nothing",
        f"; needs a restart to change: {', '.join(restart_needed)}" if restart_needed else "",
    )
    return {"reloaded": str(source), "applied": applied, "restart_needed": restart_needed}


def _live_part(old: GatewayConfig, new: GatewayConfig) -> tuple[GatewayConfig, list[str]]:
    """`new` with every section that cannot change while running kept as it is, and those sections' names."""
    kept: dict[str, Any] = {}
    restart: list[str] = []
    for name in GatewayConfig.model_fields:
        if name in LIVE or name == "rate_limits" or getattr(old, name) == getattr(new, name):
            continue
        kept[name] = getattr(old, name)
        restart.append(name)
    live_limits = {field: getattr(new.rate_limits, field) for field in LIVE_RATE_LIMITS}
    rate_limits = old.rate_limits.model_copy(update=live_limits)
    if rate_limits != new.rate_limits:
        restart.append("rate_limits (storage)")
    return new.model_copy(update={**kept, "rate_limits": rate_limits}), restart


@asynccontextmanager
async def reload_on_sighup(gateway: GatewayHost) -> AsyncIterator[None]:
    """While inside, SIGHUP reloads the configuration file (the standalone server; on asyncio)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        yield
        return
    requested = _Requests()
    try:
        loop.add_signal_handler(signal.SIGHUP, requested.add)
    except (ValueError, RuntimeError, NotImplementedError) as exc:  # not the main thread, or no SIGHUP here
        logger.warning("SIGHUP will not reload the configuration here (%s); use POST /mcp/admin/reload", exc)
        yield
        return
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(_reload_when_asked, gateway, requested)
            try:
                yield
            finally:
                group.cancel_scope.cancel()
    finally:
        loop.remove_signal_handler(signal.SIGHUP)


class _Requests:
    """Reload requests from a signal handler; several before the reload starts make one reload."""

    def __init__(self) -> None:
        self._event = anyio.Event()

    def add(self) -> None:
        self._event.set()

    async def next(self) -> None:
        await self._event.wait()
        self._event = anyio.Event()


async def _reload_when_asked(gateway: GatewayHost, requests: _Requests) -> None:
    while True:
        await requests.next()
        try:
            await reload_gateway(gateway)
        except ConfigError:
            pass  # logged by reload_gateway; the running configuration stays
        except Exception:
            logger.exception("Configuration reload failed; the running configuration stays")
