"""What a dashboard page handler is (`Handler`) and what it is given besides the request: the dashboard
serving it, seen through `DashboardHost`. The pages take this, not `app.Dashboard`, because the app
composes them (`pages.py`) and so sits above them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from .oauth_attempts import Attempts
from .oauth_client import OAuthClient
from .request import Answer, Request
from .sessions import SessionStore

if TYPE_CHECKING:
    from ..host import GatewayHost


class DashboardHost(Protocol):
    """What the pages use of the `Dashboard`."""

    gateway: GatewayHost
    sessions: SessionStore
    oauth_attempts: Attempts  # logins under way at the identity provider

    @property
    def oauth_client(self) -> OAuthClient | None:
        """The client of `ui.oauth`'s issuer; None without it."""
        ...

    def cookie(
        self, request: Request, name: str, value: str, max_age: int | None = None, same_site: str = "Strict"
    ) -> tuple[bytes, bytes]:
        """A `Set-Cookie` header for a cookie under the dashboard's path."""
        ...


Handler = Callable[[DashboardHost, Request], Awaitable[Answer]]
