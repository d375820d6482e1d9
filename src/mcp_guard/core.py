"""`GatewayCore`: the gateway's core parts (configuration, catalog, pipeline, governance, observer, upstreams),
as the modules that serve them see the gateway: the upstream manager, the operations endpoints, the listings.

It is `host.GatewayHost` without the services built over the core, split off so that those services can
name what they need of the gateway without importing `host`, which names them (see `host.py`). Like
`host`, it imports nothing at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .catalog import Catalog
    from .chat.confirmations import ConfirmationGate
    from .config import GatewayConfig
    from .credentials.service import CredentialService
    from .governance import Governance
    from .observability.observer import Observer
    from .pipeline import Pipeline
    from .upstreams import Upstream


class GatewayCore(Protocol):
    """The core parts of the gateway (`mcp_guard.gateway.Gateway` is the one implementation)."""

    config: GatewayConfig
    config_path: Path | None
    catalog: Catalog
    credentials: CredentialService
    upstreams: dict[str, Upstream]
    code_only_servers: frozenset[str]
    confirmations: ConfirmationGate
    observer: Observer
    pipeline: Pipeline
    governance: Governance

    @property
    def running(self) -> bool:
        """Whether the gateway's lifespan has started (and not yet ended): the MCP endpoint answers."""
        ...
