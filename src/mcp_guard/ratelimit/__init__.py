"""Rate limits: per key, per key or role × tool pattern, per team, per request.

rate.py     `100/minute` and the rest of the `limits` notation, read without the library
local.py    the default counter (`memory://`, sliding window): `limits`' arithmetic on a dict
library.py  the `limits` library's counters, for Redis and the moving window (loaded only for them)
limiter.py  the pipeline stage and the per-request limit, on whichever counter is configured
"""

from .config import RateLimitRule, RateLimitSettings
from .limiter import RateLimiter

__all__ = ["RateLimitRule", "RateLimitSettings", "RateLimiter"]
