"""mcp-guard: an enterprise MCP gateway for Python ASGI services."""

__version__ = "0.1.0"

from .config import GatewayConfig, ServerConfig, load_config  # noqa: E402
from .errors import ConfigError, GatewayError  # noqa: E402
from .gateway import Gateway  # noqa: E402
from .names import ToolRef  # noqa: E402
from .state import RequestState  # noqa: E402
from .upstreams import InProcessServer, ToolError  # noqa: E402

__all__ = [
    "ConfigError",
    "Gateway",
    "GatewayConfig",
    "GatewayError",
    "InProcessServer",
    "RequestState",
    "ServerConfig",
    "ToolError",
    "ToolRef",
    "load_config",
    "__version__",
]
