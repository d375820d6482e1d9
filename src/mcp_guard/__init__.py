"""mcp-guard: an enterprise MCP gateway for Python ASGI services."""

__version__ = "0.1.0"

from .config import GatewayConfig, ServerConfig, load_config
from .errors import ConfigError, GatewayError
from .gateway import Gateway
from .names import ToolRef
from .state import RequestState
from .upstreams import InProcessServer, ToolError

__all__ = [
    "AuditMiddleware",
    "BudgetMiddleware",
    "HeaderFilterMiddleware",
    "KeyAuthMiddleware",
    "RateLimitMiddleware",
    "governed",
    "ConfigError",
    "Gateway",
    "GatewayConfig",
    "GatewayError",
    "InProcessServer",
    "RequestState",
    "ServerConfig",
    "ToolError",
    "ToolRef",
    "__version__",
    "load_config",
]
