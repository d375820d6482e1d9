"""`mcp-guard demo`: the gateway on embedded defaults, with in-process demo tools and the example
stdio server from `examples/servers/` (when running from a source checkout)."""

from __future__ import annotations

import sys
from pathlib import Path

from .auth.keys import hash_key
from .config import GatewayConfig, parse_config
from .gateway import Gateway
from .upstreams import InProcessServer, ToolError

demo_tools = InProcessServer("demo")

_RATES = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 151.3, "CHF": 0.88}


@demo_tools.tool
def convert_currency(amount: float, source: str, target: str) -> float:
    """Convert an amount between USD, EUR, GBP, JPY and CHF (fixed demo rates)."""
    try:
        return round(amount / _RATES[source.upper()] * _RATES[target.upper()], 2)
    except KeyError as exc:
        raise ToolError(f"unknown currency {exc.args[0]!r}; known: {', '.join(_RATES)}") from None


@demo_tools.tool
def word_count(text: str) -> dict[str, int]:
    """Count the words and characters of a text."""
    return {"words": len(text.split()), "characters": len(text)}


def example_server_path() -> Path | None:
    """`examples/servers/notes_server.py` of the source checkout this package runs from, if any."""
    candidate = Path(__file__).resolve().parents[2] / "examples" / "servers" / "notes_server.py"
    return candidate if candidate.is_file() else None


SEED_ROLES = {
    "engineering": {"tools": ["filesystem/*", "database/*", "github-api/*", "notes/*"]},
    "marketing": {"tools": ["web-search/*", "document-generation/*", "demo/word_count"]},
    "finance": {"tools": ["cost-tracking/*", "demo/convert_currency"]},
    "admin": {"tools": ["*"], "resources": ["*"], "prompts": ["*"], "admin": True},
}


def demo_config(data_dir: Path, admin_key: str) -> GatewayConfig:
    """Embedded defaults: SQLite for keys, budgets and audit under `data_dir`, in-memory rate limits."""
    servers = []
    notes = example_server_path()
    if notes is not None:
        servers.append({"name": "notes", "transport": "stdio", "command": sys.executable,
                        "args": [str(notes), "--transport", "stdio"]})  # fmt: skip
    return parse_config(
        {
            "servers": servers,
            "roles": SEED_ROLES,
            "teams": {"demo": {"budget": {"limit": 10.0, "period": "1M", "calendar": True}}},
            "keys": [{"name": "demo-admin", "hash": hash_key(admin_key), "roles": ["admin"], "team": "demo"}],
            "auth": {"store": f"sqlite:///{data_dir / 'keys.db'}"},
            "rate_limits": {"requests_per_key": "600/minute", "rules": [{"tools": "*", "limit": "120/minute"}]},
            "budgets": {"storage": f"sqlite:///{data_dir / 'budget.db'}"},
            "pricing": {"default": 0.001, "servers": {"notes": 0.002}},
            "audit": {"sink": f"sqlite:///{data_dir / 'audit.db'}"},
        },
        source="demo",
    )


def demo_gateway(data_dir: Path, admin_key: str) -> Gateway:
    return Gateway(demo_config(data_dir, admin_key), inprocess=[demo_tools])
