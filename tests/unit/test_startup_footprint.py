"""What the gateway loads and builds at start-up: shared TLS contexts, and modules left for first use."""

from __future__ import annotations

import importlib
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


def _loaded_by_the_standalone_server() -> set[str]:
    code = "import sys, mcp_guard.server; print(' '.join(sys.modules))"
    return set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())


def test_the_standalone_server_leaves_chat_and_the_code_mode_engine_for_first_use() -> None:
    loaded = _loaded_by_the_standalone_server()
    for module in ("agent", "metering", "providers", "relay", "tokens"):
        assert f"mcp_guard.chat.{module}" not in loaded
    for module in ("executor", "dts", "schema_ts", "sandbox", "typescript", "pool", "worker_process", "discovery"):
        assert f"mcp_guard.codemode.{module}" not in loaded
    assert "difflib" not in loaded and "limits" not in loaded
    assert {"mcp_guard.codemode.meta_tools", "mcp_guard.codemode.settings"} <= loaded  # listing needs them


def test_the_code_mode_package_still_offers_every_public_name() -> None:
    import mcp_guard.codemode as codemode

    executor = importlib.import_module("mcp_guard.codemode.executor")
    meta_tools = importlib.import_module("mcp_guard.codemode.meta_tools")

    for name in codemode.__all__:
        assert getattr(codemode, name) is not None, name
    assert codemode.execute is executor.execute
    assert codemode.meta_tools is meta_tools.meta_tools  # the function, not the submodule of that name
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        codemode.nothing  # noqa: B018


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


LIMITS_PROBE = """
import sys, anyio
import mcp_guard.server
from mcp_guard.auth.principal import Principal
from mcp_guard.errors import RateLimited
from mcp_guard.ratelimit import RateLimiter, RateLimitSettings

async def main(strategy):
    limiter = RateLimiter(RateLimitSettings(requests_per_key="2/minute", strategy=strategy))
    principal = Principal(key_id="k1", key_name="ci")
    await limiter.hit_request(principal)
    await limiter.hit_request(principal)
    try:
        await limiter.hit_request(principal)
    except RateLimited as exc:
        print(strategy, "refused:", exc.headers["RateLimit-Limit"], "limits loaded:", "limits" in sys.modules)

anyio.run(main, sys.argv[1])
"""


@pytest.mark.parametrize(("strategy", "loads_limits"), [("sliding-window", False), ("moving-window", True)])
def test_the_limits_library_is_loaded_only_where_it_counts(strategy: str, loads_limits: bool) -> None:
    """`memory://` with the sliding window (the default) counts in `LocalSlidingWindow`: 1.6 MB and ~14 ms
    of start-up that a gateway does not pay for `limits`."""
    argv = [sys.executable, "-c", LIMITS_PROBE, strategy]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"{strategy} refused: 2 limits loaded: {loads_limits}"
