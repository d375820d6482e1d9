"""mcp-guard: an enterprise MCP gateway for Python ASGI services."""

__version__ = "0.1.0"

from .auth.principal import Principal  # noqa: E402
from .config import GatewayConfig, ServerConfig, load_config  # noqa: E402
from .errors import ConfigError, GatewayError  # noqa: E402
from .gateway import Gateway  # noqa: E402
from .middleware import (  # noqa: E402
    AuditMiddleware,
    BudgetMiddleware,
    HeaderFilterMiddleware,
    KeyAuthMiddleware,
    RateLimitMiddleware,
    governed,
)
from .names import ToolRef  # noqa: E402
from .state import RequestState  # noqa: E402
from .upstreams import InProcessServer, ToolError  # noqa: E402

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
