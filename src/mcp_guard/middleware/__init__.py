"""The five composable pure-ASGI middlewares. Each works alone; together, outermost first:

    KeyAuthMiddleware → HeaderFilterMiddleware → RateLimitMiddleware → BudgetMiddleware → AuditMiddleware

They decide what applies to a request and put it on its `RequestState`; the pipeline enforces it.
"""

from .audit import AuditMiddleware
from .budget import BudgetMiddleware
from .header_filter import HeaderFilterMiddleware
from .key_auth import KeyAuthMiddleware
from .rate_limit import RateLimitMiddleware
from .stack import governed

__all__ = [
    "AuditMiddleware",
    "BudgetMiddleware",
    "HeaderFilterMiddleware",
    "KeyAuthMiddleware",
    "RateLimitMiddleware",
    "governed",
]
