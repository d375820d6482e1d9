"""Upstream LLM providers: `provider/model` routing and the HTTP calls to an OpenAI-compatible API.

A request names `<provider>/<model>` (`openai/gpt-4.1`); the provider part picks the configured base URL
and API key, the rest is sent upstream as the model. Provider refusals are mapped onto the gateway's own
errors: the caller's mistakes (400, 404, 413, 422) → 400, provider rate limits → 429, anything else → 502,
no answer in time → 504.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2

from ..errors import BadRequest, GatewayError, RateLimited, UpstreamError, UpstreamTimeout
from .config import LLMSettings, ProviderConfig

_CALLER_MISTAKES = {400, 404, 413, 422}


@dataclass(frozen=True, slots=True)
class Route:
    """Where one request goes: the provider, its settings, and the model name it is sent upstream."""

    provider: str
    model: str
    config: ProviderConfig

    @property
    def ref(self) -> str:
        """`provider/model`, as audit records and analytics name it."""
        return f"{self.provider}/{self.model}"


def route(settings: LLMSettings, model: Any) -> Route:
    """The route for a request's `model`; 400 naming the configured providers when it has none."""
    try:
        return Route(*settings.resolve(model))
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


class ProviderClient:
    """One provider's HTTP client, opened on first use and kept for connection reuse."""

    def __init__(self, name: str, config: ProviderConfig) -> None:
        self.name = name
        self.config = config
        self._client: httpx2.AsyncClient | None = None

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """One non-streaming chat completion."""
        try:
            response = await self._http().post("chat/completions", json=body)
        except httpx2.HTTPError as exc:
            raise self._unreachable(exc) from None
        if response.status_code != 200:
            raise self._refusal(response)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise UpstreamError(f"Provider {self.name!r} answered with something that is not a JSON object")
        return answer

    @asynccontextmanager
    async def stream(self, body: dict[str, Any]) -> AsyncIterator[AsyncIterator[str]]:
        """A streaming chat completion: the response's lines, once the provider has answered 200."""
        try:
            async with self._http().stream("POST", "chat/completions", json=body) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise self._refusal(response)
                yield self._lines(response)
        except httpx2.HTTPError as exc:
            raise self._unreachable(exc) from None

    async def _lines(self, response: httpx2.Response) -> AsyncIterator[str]:
        """The body's lines; a connection lost mid-stream is an `UpstreamError` like any other."""
        try:
            async for line in response.aiter_lines():
                yield line
        except httpx2.HTTPError as exc:
            raise self._unreachable(exc) from None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx2.AsyncClient:
        if self._client is None:
            headers = {"authorization": f"Bearer {self._api_key()}"} if self.config.api_key_env else {}
            base = self.config.base_url.rstrip("/") + "/"
            self._client = httpx2.AsyncClient(base_url=base, headers=headers, timeout=self.config.timeout)
        return self._client

    def _api_key(self) -> str:
        variable = self.config.api_key_env or ""
        key = os.environ.get(variable)
        if not key:
            raise UpstreamError(f"Provider {self.name!r} has no API key: environment variable {variable!r} is not set")
        return key

    def _unreachable(self, exc: httpx2.HTTPError) -> GatewayError:
        if isinstance(exc, httpx2.TimeoutException):
            return UpstreamTimeout(f"Provider {self.name!r} did not answer within {self.config.timeout:g} s")
        return UpstreamError(f"Provider {self.name!r} is unreachable: {type(exc).__name__}: {exc}")

    def _refusal(self, response: httpx2.Response) -> GatewayError:
        status = response.status_code
        message = f"Provider {self.name!r} answered {status}: {_error_message(response)}"
        if status in _CALLER_MISTAKES:
            return BadRequest(message)
        if status == 429:
            retry = response.headers.get("retry-after")
            return RateLimited(message, headers={"Retry-After": retry} if retry else None)
        return UpstreamError(message)


def _error_message(response: httpx2.Response) -> str:
    """The provider's own error message (OpenAI's `{"error": {"message"}}`), else the start of the body."""
    try:
        error = json.loads(response.text).get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    return response.text[:300] or "(empty body)"
