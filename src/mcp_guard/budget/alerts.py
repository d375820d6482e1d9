"""Budget alerts: when a customer's, team's or key's spend crosses a threshold (e.g. 50/80/100 % of its
budget), one log line and one signed webhook POST, once per threshold per budget period.

The guard notes which budgets a settled call charged (`touched`, no I/O on the call's path); every
`check_interval` the alerts read those budgets' spend from the ledger. "Once" holds across gateway
processes because the claim to send an alert is itself a ledger charge: a tier `alert:<tier>:<pct>` with
a limit of one micro-unit and the budget's own period, so exactly one process reserves it per period,
atomically, in whatever storage the budgets use (memory, SQLite, Redis).

The webhook body is JSON; `X-MCP-Guard-Timestamp` and `X-MCP-Guard-Signature: sha256=<hex>` (HMAC-SHA256
of `<timestamp>.<body>` with `budgets.alerts.secret`) let the receiver check it came from the gateway and
is fresh. A POST that fails (network error, 5xx, 429) is retried `retries` times, backing off from 1 s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from .config import AlertSettings, TierBudget
from .ledger import Charge, LedgerError, LedgerStorage, TierExceeded, from_micros, to_micros
from .periods import PeriodRule

if TYPE_CHECKING:
    from ..observability.metrics import Metrics

logger = logging.getLogger("mcp_guard.budget.alerts")
SIGNATURE_HEADER = "x-mcp-guard-signature"
TIMESTAMP_HEADER = "x-mcp-guard-timestamp"
FIRST_BACKOFF = 1.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of `<timestamp>.<body>`: what `X-MCP-Guard-Signature` carries."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class BudgetAlerts:
    def __init__(self, settings: AlertSettings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.metrics: Metrics | None = None  # set by the gateway when metrics are on
        self._touched: dict[str, TierBudget] = {}

    def touched(self, budgets: Iterable[TierBudget]) -> None:
        """These budgets were charged: check them at the next tick (called on the call's path: no I/O)."""
        for budget in budgets:
            if budget.budget.alert_at or self.settings.thresholds:
                self._touched[f"{budget.tier}:{budget.id}"] = budget

    @asynccontextmanager
    async def running(self, ledger: LedgerStorage) -> AsyncIterator[None]:
        async with anyio.create_task_group() as group:
            group.start_soon(self._check_forever, ledger)
            try:
                yield
            finally:
                group.cancel_scope.cancel()

    async def _check_forever(self, ledger: LedgerStorage) -> None:
        while True:
            await anyio.sleep(self.settings.check_interval)
            await self.check(ledger)

    async def check(self, ledger: LedgerStorage) -> None:
        """Alert for every threshold the touched budgets have crossed and no process has alerted yet."""
        touched, self._touched = self._touched, {}
        for key, budget in touched.items():
            try:
                await self._check_one(ledger, key, budget)
            except LedgerError as exc:  # the budget stage reports the outage; try again on the next spend
                logger.debug("budget alert check of %s skipped: %s", key, exc)

    async def _check_one(self, ledger: LedgerStorage, key: str, budget: TierBudget) -> None:
        now = self.clock()
        usage = await ledger.spent(key, now)
        limit = to_micros(budget.budget.limit)
        for threshold in budget.budget.alert_at or self.settings.thresholds:
            if usage.spent * 100 >= threshold * limit and await self._claim(ledger, key, threshold, budget, now):
                window = usage.window
                await self._send(budget, threshold, from_micros(usage.spent), window.start if window else None)

    async def _claim(self, ledger: LedgerStorage, key: str, threshold: float, budget: TierBudget, now: float) -> bool:
        """True for the one process that may send this alert in this period."""
        claim = Charge(f"alert:{key}:{threshold:g}", 1, PeriodRule.of(budget.budget))
        try:
            reservation = await ledger.reserve([claim], 1, now)
        except TierExceeded:
            return False
        await ledger.commit(reservation, 1, now)
        return True

    async def _send(self, budget: TierBudget, threshold: float, spent: float, window_start: float | None) -> None:
        event = {
            "type": "budget.threshold",
            "id": uuid.uuid4().hex,
            "time": self.clock(),
            "tier": budget.tier,
            "tier_id": budget.id,
            "threshold": threshold,
            "spent": spent,
            "limit": budget.budget.limit,
            "percent": round(100 * spent / budget.budget.limit, 2),
            "period": budget.budget.period,
            "window_start": window_start,
        }
        logger.warning(
            "Budget alert: %s %r has spent %.4g of %.4g per %s (%g %% threshold)",
            budget.tier, budget.id, spent, budget.budget.limit, budget.budget.period, threshold,
            extra={"fields": event},
        )  # fmt: skip
        if self.metrics is not None:
            self.metrics.alerts.labels(budget.tier, f"{threshold:g}").inc()
        if self.settings.webhook:
            await self._post(event)

    async def _post(self, event: dict[str, Any]) -> None:
        import httpx2

        body = json.dumps(event).encode()
        timestamp = str(int(self.clock()))
        headers = {"content-type": "application/json", TIMESTAMP_HEADER: timestamp}
        if self.settings.secret:
            headers[SIGNATURE_HEADER] = signature(self.settings.secret, timestamp, body)
        delay = FIRST_BACKOFF
        async with httpx2.AsyncClient(timeout=10.0) as http:
            for attempt in range(1, self.settings.retries + 2):
                try:
                    response = await http.post(self.settings.webhook or "", content=body, headers=headers)
                    if response.status_code < 500 and response.status_code != 429:
                        return
                    problem = f"HTTP {response.status_code}"
                except httpx2.HTTPError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                if attempt > self.settings.retries:
                    logger.error(
                        "Budget alert %s: webhook failed %d times (%s); giving up", event["id"], attempt, problem
                    )
                    return
                logger.warning("Budget alert %s: webhook failed (%s); retry in %.0f s", event["id"], problem, delay)
                await anyio.sleep(delay)
                delay *= 2
