"""Opening an `mcp.Client` for a configured server, one function per transport."""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2
from mcp import Client
from mcp.client.extension import ClientExtension
from mcp.client.session import MessageHandlerFnT
from mcp.client.sse import sse_client
from mcp.client.streamable_http import MCP_SESSION_ID, streamable_http_client
from mcp.shared._httpx_utils import MCP_DEFAULT_SSE_READ_TIMEOUT, MCP_DEFAULT_TIMEOUT

from ..config import ServerConfig
from ..relay import InFlight, upstream_callbacks
from .direct_stdio import StdioPipe
from .stdio import stdio_transport

# An SSE/streamable-HTTP response stream may stay open between events for a long time.
_STREAM_READ_TIMEOUT = 300.0


@dataclass(frozen=True, slots=True)
class TransportEvents:
    """What a transport tells its supervisor besides messages: both mean "this connection is over"."""

    child_exited: Callable[[int], None]  # stdio: the server process exited (with this code)
    session_lost: Callable[[str], None]  # http: the upstream no longer knows our session (it restarted)
    pipe: StdioPipe | None = None  # stdio: where the direct path's calls meet the child (`direct_stdio.py`)


async def open_transport(
    stack: AsyncExitStack,
    config: ServerConfig,
    on_message: MessageHandlerFnT,
    events: TransportEvents,
    server: Any = None,
    in_flight: InFlight | None = None,
    extensions: Sequence[ClientExtension] = (),
) -> Client:
    """Connect (and negotiate the protocol era) inside `stack`; the caller's scope bounds the time.
    `server` is an in-process MCP server object, for `inprocess` servers registered as such. Elicitation and
    sampling requests go to the client of the call that caused them (`relay.py`), found in `in_flight`, or
    sampling to the gateway's own models as the server's `sampling` says. `extensions` observe notifications
    the SDK client would drop (`tasks.TaskStatusObserver`)."""
    on_elicit, on_sample = upstream_callbacks(config.name, in_flight or InFlight(), config.sampling)
    client = Client(
        server if server is not None else await _target(stack, config, events),
        mode=config.protocol,
        message_handler=on_message,
        elicitation_callback=on_elicit,
        sampling_callback=on_sample,
        # The client's own bound on every request: the handshake and listings are bounded by `connect_timeout`
        # (the supervisor's deadline), tool calls and other requests by `call_timeout` (given per call, and
        # `ClientUpstream.request`); the larger here, so a short call timeout never cuts a slow start short.
        read_timeout_seconds=max(config.call_timeout, config.connect_timeout),
        cache=None,  # the gateway keeps its own catalog; stale cached listings would hide changes
        extensions=list(extensions) or None,
    )
    return await stack.enter_async_context(client)


async def _target(stack: AsyncExitStack, config: ServerConfig, events: TransportEvents) -> Any:
    if config.transport == "stdio":
        return stdio_transport(config, events.child_exited, events.pipe)
    url = _require(config.url)
    if config.transport == "sse":
        return sse_client(
            url,
            headers=config.headers or None,
            timeout=config.connect_timeout,
            sse_read_timeout=_STREAM_READ_TIMEOUT,
            httpx_client_factory=functools.partial(_http_client, url),
        )
    # http: the transport does not close a client it is given, so the stack does, after the session.
    timeout = httpx2.Timeout(config.connect_timeout, read=max(_STREAM_READ_TIMEOUT, config.call_timeout))
    http = await stack.enter_async_context(_http_client(url, headers=config.headers or None, timeout=timeout))
    http.event_hooks["response"].append(functools.partial(_check_session, events.session_lost))
    return streamable_http_client(url, http_client=http)


async def _check_session(session_lost: Callable[[str], None], response: httpx2.Response) -> None:
    """A session-based upstream that restarted answers our old session id with 404 ("Session not found")
    or, for some servers (the TypeScript SDK's), 400 "No valid session ID": the session is gone, and the
    request was refused before any tool ran. Error bodies are small; reading one here is cheap."""
    if response.status_code not in (400, 404) or MCP_SESSION_ID not in response.request.headers:
        return
    body = await response.aread()
    if response.status_code == 404 or b"session" in body.lower():
        session_lost(f"the upstream answered HTTP {response.status_code} to our session id: it lost the session")


def _http_client(
    url: str,
    headers: dict[str, str] | None = None,
    timeout: httpx2.Timeout | None = None,
    auth: httpx2.Auth | None = None,
) -> httpx2.AsyncClient:
    """The SDK's `create_mcp_http_client` for `url`, with a TLS context chosen by `_tls_context`."""
    if timeout is None:
        timeout = httpx2.Timeout(MCP_DEFAULT_TIMEOUT, read=MCP_DEFAULT_SSE_READ_TIMEOUT)
    return httpx2.AsyncClient(headers=headers, timeout=timeout, auth=auth, verify=_tls_context(url))


def _tls_context(url: str) -> ssl.SSLContext:
    """One context shared by every upstream client, instead of one per client.

    Left to itself every `httpx2.AsyncClient` builds its own context and loads the whole CA bundle into it:
    ~1.1 MB and ~30 ms per upstream here (10 upstreams: 9 MB of a 93 MB gateway). No upstream has TLS
    settings of its own, and a context is safe to share between connections.

    An `http://` URL with an explicit port other than 80 never opens TLS to its server: httpx2 uses the
    context only for https targets (a proxy has its own), and the SDK follows a redirect to https only from
    a default-port URL. Such upstreams get a context with no CA loaded, so a gateway of plain-http upstreams
    skips the bundle altogether; it still verifies, so were it ever used it would refuse, not trust."""
    parts = urlsplit(url)
    if parts.scheme == "http" and parts.port not in (None, 80):
        return _unused_tls_context()
    return _verifying_tls_context()


@functools.cache
def _verifying_tls_context() -> ssl.SSLContext:
    """httpx2's default: the CA bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR`."""
    return httpx2.create_ssl_context()


@functools.cache
def _unused_tls_context() -> ssl.SSLContext:
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # certificate and host name checks on, nothing trusted


def _require(value: str | None) -> str:
    if value is None:  # config validation guarantees it; this keeps the type checker honest
        raise ValueError("missing transport setting")
    return value
