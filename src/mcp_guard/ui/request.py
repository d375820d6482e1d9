"""What a dashboard page handler gets (`Request`) and gives back (`Page` or `Redirect`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ..asgi import Headers, Scope
from .http import Form
from .sessions import Session

if TYPE_CHECKING:
    from ..auth.principal import Principal


@dataclass
class Request:
    """One dashboard request."""

    scope: Scope
    base: str  # where the dashboard is mounted, e.g. `/mcp/ui`: every link starts with it
    params: dict[str, str] = field(default_factory=dict)  # from the path, e.g. a server's name
    form: Form | None = None  # a POST's form
    session: Session | None = None
    principal: Principal | None = None

    @property
    def query(self) -> dict[str, str]:
        """The query string's fields (the last value of a repeated one); blank fields count as absent."""
        raw = self.scope.get("query_string", b"").decode("latin-1")
        return {name: value.strip() for name, value in parse_qsl(raw) if value.strip()}

    def field(self, name: str) -> str:
        """A field of the posted form, stripped ('' when absent)."""
        return self.form.get(name).strip() if self.form is not None else ""

    def notify(self, kind: str, text: str) -> None:
        """A notice for the next page this session sees (after the redirect)."""
        if self.session is not None:
            self.session.notice = (kind, text)


@dataclass
class Page:
    template: str
    context: dict[str, Any]
    status: int = 200
    headers: Headers = field(default_factory=list)


@dataclass
class Redirect:
    to: str  # below the dashboard's base, e.g. `/keys`
    headers: Headers = field(default_factory=list)
    external: bool = False  # `to` is an absolute URL elsewhere (the identity provider's authorization endpoint)


Answer = Page | Redirect
