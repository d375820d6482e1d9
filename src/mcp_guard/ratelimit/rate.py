"""A rate such as `100/minute`, in the `limits` notation, parsed without importing `limits`.

The default limiter (`memory://`, sliding window) counts in `local.py` and never needs the library;
importing it only to read the configuration cost a gateway 1.6 MB and ~14 ms of start-up. The grammar is
the library's (`limits.util.SINGLE_EXPR`): `N/granularity`, `N per granularity`, `N/M granularities`,
any case, with `second`, `minute`, `hour`, `day`, `month` (30 days) and `year` (360 days). Two deliberate
differences, both refusals of what `limits.parse` silently misreads: a list such as `1/second;5/minute`
(it keeps the first and drops the rest; here each limit is a rule of its own) and a window of zero units
(it reads `10/0 minutes` as one minute). `Rate.item()` gives the library's equivalent where a `limits`
strategy does the counting (Redis, moving window).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from limits import RateLimitItem

SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86_400, "month": 2_592_000, "year": 31_104_000}

_SEPARATOR = re.compile(r"[,;|]")  # between the limits of a list in the `limits` notation
_RATE = re.compile(r"\s*([0-9]+)\s*(?:/|\s*per\s*)\s*([0-9]+)?\s*([a-z]+)\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Rate:
    """`amount` per `multiples` × `granularity` (e.g. 10 per 2 minutes)."""

    amount: int
    multiples: int
    granularity: str  # a key of SECONDS
    seconds: int = field(init=False, compare=False)  # the window's length; read on every hit

    def __post_init__(self) -> None:
        object.__setattr__(self, "seconds", SECONDS[self.granularity] * self.multiples)

    def item(self) -> RateLimitItem:
        """The same limit as the `limits` library's item."""
        from limits.limits import GRANULARITIES

        return GRANULARITIES[self.granularity](self.amount, self.multiples)

    def __str__(self) -> str:
        unit = self.granularity if self.multiples == 1 else f"{self.multiples} {self.granularity}s"
        return f"{self.amount}/{unit}"


def parse_rate(text: str) -> Rate:
    """`text` as a Rate; ValueError that names the problem."""
    match = _RATE.fullmatch(text) if isinstance(text, str) else None
    if match is None and isinstance(text, str) and _SEPARATOR.search(text):
        raise ValueError(f"{text!r}: one limit per rule; give each of these limits a rule of its own")
    if match is None:
        raise ValueError(f"{text!r} is not a rate limit such as '100/minute' or '10 per 2 seconds'")
    amount, multiples, unit = int(match[1]), int(match[2] or 1), match[3].lower()
    granularity = unit[:-1] if unit.endswith("s") and unit[:-1] in SECONDS else unit
    if granularity not in SECONDS:
        raise ValueError(f"{text!r}: unknown unit {match[3]!r}; use one of {', '.join(SECONDS)}")
    if multiples == 0:
        raise ValueError(f"{text!r}: a window of zero {granularity}s")
    return Rate(amount, multiples, granularity)
