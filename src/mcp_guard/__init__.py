"""mcp-guard: an enterprise MCP gateway for Python ASGI services."""

from .auth.principal import Principal
from .config import GatewayConfig, ServerConfig, load_config
from .errors import ConfigError, GatewayError
from .gateway import Gateway
from .middleware import (
    AuditMiddleware,
    BudgetMiddleware,
    HeaderFilterMiddleware,
    KeyAuthMiddleware,
    RateLimitMiddleware,
    governed,
)
from .names import ToolRef
from .state import RequestState
from .upstreams import InProcessServer, ToolError
from .version import __version__

__all__ = [
    "AuditMiddleware",
    "BudgetMiddleware",
    "ConfigError",
    "Gateway",
    "GatewayConfig",
    "GatewayError",
    "HeaderFilterMiddleware",
    "InProcessServer",
    "KeyAuthMiddleware",
    "Principal",
    "RateLimitMiddleware",
    "RequestState",
    "ServerConfig",
    "ToolError",
    "ToolRef",
    "__version__",
    "governed",
    "load_config",
]
