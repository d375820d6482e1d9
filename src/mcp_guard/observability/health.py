"""Liveness and readiness of a gateway, as `/healthz` and `/readyz` report them.

Liveness is the process answering. Readiness follows `observability.readiness`: the gateway has started,
enough upstreams are connected, and no shared store the gateway uses is in an outage. Stores are judged
by what the gateway last saw (the key store's replica refreshes several times a second; the others on
use), so a readiness probe never adds load to them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .settings import ReadinessSettings

if TYPE_CHECKING:
    from ..core import GatewayCore

UP = "connected"


def liveness() -> dict[str, Any]:
    return {"status": "ok"}


def readiness(gateway: GatewayCore) -> tuple[bool, dict[str, Any]]:
    """(ready?, the report): each check, and the reasons it is not ready."""
    rule = gateway.config.observability.readiness
    reasons: list[str] = []
    if not gateway.running:
        reasons.append("the gateway has not started (or is stopping)")
    states = {name: str(upstream.status.state) for name, upstream in gateway.upstreams.items()}
    reasons += _upstream_reasons(rule, states)
    stores = store_states(gateway)
    if rule.stores:
        reasons += [f"{name} store is unreachable" for name, state in stores.items() if state != "ok"]
    report = {
        "status": "not_ready" if reasons else "ready",
        "upstreams": states,
        "stores": stores,
        "reasons": reasons,
    }
    return not reasons, report


def _upstream_reasons(rule: ReadinessSettings, states: dict[str, str]) -> list[str]:
    enabled = {name: state for name, state in states.items() if state != "disabled"}
    down = sorted(name for name, state in enabled.items() if state != UP)
    if rule.upstreams == "none" or not enabled:
        return []
    if rule.upstreams == "any":
        return [] if len(down) < len(enabled) else [f"no upstream is connected ({', '.join(down)})"]
    required = sorted(enabled) if rule.upstreams == "all" else list(rule.upstreams)
    missing = [name for name in required if states.get(name) != UP]
    return [f"upstream {name!r} is {states.get(name, 'not configured')}" for name in missing]


def store_states(gateway: GatewayCore) -> dict[str, str]:
    """`ok` or `unreachable` for each shared store this gateway has opened so far."""
    opened = gateway.governance.__dict__  # cached_property values: only components already built
    states: dict[str, str] = {}
    keys = opened.get("keys")
    outage = getattr(getattr(keys, "store", None), "outage", None)
    if outage is not None:
        states["keys"] = "unreachable" if outage.down else "ok"
    for name in ("rate_limiter", "budget"):
        component = opened.get(name)
        if component is not None:
            states[name] = "unreachable" if component.outage.down else "ok"
    audit = opened.get("audit")
    if audit is not None:
        states["audit"] = "ok" if audit.last_error is None else "unreachable"
    return states
