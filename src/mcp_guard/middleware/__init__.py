"""The five composable pure-ASGI middlewares. Each works alone; together, outermost first:

    KeyAuthMiddleware → HeaderFilterMiddleware → RateLimitMiddleware → BudgetMiddleware → AuditMiddleware

They decide what applies to a request and put it on its `RequestState`; the pipeline enforces it. Each
governs the gateway's own mount (`/mcp`) by default and passes every other request on untouched
(`paths.py`); `governed` / `GovernanceStack` put all five around an app (with the mount's CORS,
`MountCORSMiddleware`, when `cors:` is configured) and check the path once for all of them.
"""

from .audit import AuditMiddleware
from .budget import BudgetMiddleware
from .cors import MountCORSMiddleware
from .header_filter import HeaderFilterMiddleware
from .key_auth import KeyAuthMiddleware
from .paths import DEFAULT_PATHS, EVERY_PATH, PathScope, mount_paths
from .rate_limit import RateLimitMiddleware
from .stack import GovernanceStack, governed

__all__ = [
    "DEFAULT_PATHS",
    "EVERY_PATH",
    "AuditMiddleware",
    "BudgetMiddleware",
    "GovernanceStack",
    "HeaderFilterMiddleware",
    "KeyAuthMiddleware",
    "MountCORSMiddleware",
    "PathScope",
    "RateLimitMiddleware",
    "governed",
    "mount_paths",
]
