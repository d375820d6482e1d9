"""All five middlewares around an app, in the order the design fixes (outermost first)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .audit import AuditMiddleware
from .budget import BudgetMiddleware
from .header_filter import HeaderFilterMiddleware
from .key_auth import KeyAuthMiddleware
from .rate_limit import RateLimitMiddleware

if TYPE_CHECKING:
    from ..gateway import Gateway


def governed(app: Any, gateway: Gateway, *, exempt_paths: Iterable[str] = ()) -> Any:
    """KeyAuth → HeaderFilter → RateLimit → Budget → Audit → `app`."""
    app = AuditMiddleware(app, gateway=gateway)
    app = BudgetMiddleware(app, gateway=gateway)
    app = RateLimitMiddleware(app, gateway=gateway)
    app = HeaderFilterMiddleware(app)
    return KeyAuthMiddleware(app, gateway=gateway, exempt_paths=exempt_paths)
