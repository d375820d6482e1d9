"""`mcp-guard demo`: the gateway on embedded defaults, with in-process demo tools and the example
stdio server from `examples/servers/` (when running from a source checkout)."""

from __future__ import annotations

import sys
from pathlib import Path

from .config import GatewayConfig, ServerConfig
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


def demo_config() -> GatewayConfig:
    servers = []
    notes = example_server_path()
    if notes is not None:
        servers.append(
            ServerConfig(
                name="notes", transport="stdio", command=sys.executable, args=[str(notes), "--transport", "stdio"]
            )
        )
    return GatewayConfig(servers=servers)


def demo_gateway() -> Gateway:
    return Gateway(demo_config(), inprocess=[demo_tools])
