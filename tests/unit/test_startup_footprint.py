"""What the gateway loads and builds at start-up: shared TLS contexts, and modules left for first use."""

from __future__ import annotations

import ssl
import subprocess
import sys

import pytest

from mcp_guard.upstreams.transports import _http_client, _tls_context


@pytest.mark.parametrize(
    ("url", "verifies_with_cas"),
    [
        ("https://api.example.com/mcp", True),
        ("https://api.example.com:8443/mcp", True),
        ("http://api.example.com/mcp", True),  # default port: the SDK may follow a redirect to https
        ("http://api.example.com:80/mcp", True),
        ("http://127.0.0.1:9100/mcp", False),
        ("http://tools.internal:8080/mcp", False),
    ],
)
def test_tls_context_loads_the_ca_bundle_only_where_tls_can_happen(url: str, verifies_with_cas: bool) -> None:
    context = _tls_context(url)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert (context.cert_store_stats()["x509_ca"] > 0) is verifies_with_cas


def test_every_upstream_client_shares_one_tls_context() -> None:
    assert _tls_context("https://a.example.com/mcp") is _tls_context("http://b.example.com/mcp")
    assert _tls_context("http://127.0.0.1:9100/mcp") is _tls_context("http://10.0.0.2:8080/mcp")


@pytest.mark.anyio
async def test_http_client_keeps_the_sdk_defaults() -> None:
    async with _http_client("http://127.0.0.1:9100/mcp", headers={"x-team": "a"}) as client:
        assert client.headers["x-team"] == "a"
        assert client.timeout.connect == 30.0
        assert client.timeout.read == 300.0
        assert not client.follow_redirects  # the SDK's transports follow same-origin redirects themselves


def test_the_standalone_server_leaves_the_chat_machinery_for_the_first_chat_request() -> None:
    code = "import sys, mcp_guard.server; print(sorted(m for m in sys.modules if m.startswith('mcp_guard.chat')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for module in ("agent", "metering", "providers", "relay", "tokens"):
        assert f"mcp_guard.chat.{module}'" not in loaded


JSONSCHEMA_PROBE = """
import sys, anyio
from mcp_guard import Gateway, GatewayConfig, InProcessServer
from mcp_guard.errors import BadRequest
from mcp_guard.state import RequestState

tools = InProcessServer("t")

@tools.tool
def echo(text: str) -> str:
    return text

async def main():
    gateway = Gateway(GatewayConfig(), inprocess=[tools])
    async with gateway.lifespan():
        await gateway.call(RequestState(), "t__echo", {"text": "hi"}, entry_point="rest")
        print("after a valid call:", "jsonschema" in sys.modules)
        try:
            await gateway.call(RequestState(), "t__echo", {"text": 1}, entry_point="rest")
        except BadRequest as exc:
            print("after an invalid call:", "jsonschema" in sys.modules, exc.message)

anyio.run(main)
"""


def test_jsonschema_is_loaded_only_to_word_an_invalid_call() -> None:
    out = subprocess.run([sys.executable, "-c", JSONSCHEMA_PROBE], capture_output=True, text=True, check=True).stdout
    assert "after a valid call: False" in out
    assert "after an invalid call: True" in out and "1 is not of type 'string'" in out
