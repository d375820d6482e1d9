"""Rate limits on the `limits` library: per key, per key or role × tool pattern, per team, per request."""

from .config import RateLimitRule, RateLimitSettings
from .limiter import RateLimiter

__all__ = ["RateLimitRule", "RateLimitSettings", "RateLimiter"]
