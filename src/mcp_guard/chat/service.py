"""What the chat endpoint keeps between requests: one HTTP client per provider and the token limiter."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from .providers import ProviderClient, Route, route
from .tokens import TokenLimiter

if TYPE_CHECKING:
    from ..config import GatewayConfig


class ChatService:
    """`gateway.chat`: created on first use, closed by `gateway.lifespan()`."""

    def __init__(self, config: GatewayConfig) -> None:
        self.settings = config.llm
        self._clients: dict[str, ProviderClient] = {}

    def route(self, model: Any) -> Route:
        """Where a request's `model` goes (400 when no configured provider serves it)."""
        return route(self.settings, model)

    def client(self, target: Route) -> ProviderClient:
        client = self._clients.get(target.provider)
        if client is None:
            client = self._clients[target.provider] = ProviderClient(target.provider, target.config)
        return client

    @cached_property
    def tokens(self) -> TokenLimiter | None:
        """The token limiter, or None when no token limit is configured."""
        limits = self.settings.token_limits
        return TokenLimiter(limits) if limits.rules else None

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        if "tokens" in self.__dict__ and self.tokens is not None:
            await self.tokens.aclose()
