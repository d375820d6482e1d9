"""`Dashboard`: the ASGI app under `/ui`. It routes a request to a page (`pages.py`), checks who is asking
and renders the answer.

Who may use it: a browser holding a session (`sessions.py`) opened by logging in with an admin key, or
with an admin's access token from the identity provider (`oauth_login.py`). Without one, a page redirects
to the login form and a change is refused (401). A key that is no longer active or no longer admin (or a
token that expired, or whose claims no longer map to an admin role) ends its session at its next request.
Every change (a POST) must carry the session's CSRF token in its form (403 without); the login form carries
its own, from a short-lived cookie, so another site cannot log a browser in either.
Logins and every change are audited (server `ui`).
"""

from __future__ import annotations

import re
import time
from importlib import resources
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ..asgi import Scope, app_path
from ..errors import GatewayError, MethodNotAllowed, NotAllowed, NotFound, Unauthenticated
from . import pages
from .actions import record_action
from .handler import Handler
from .http import cookies, read_form, redirect, send_file, send_html, set_cookie
from .login import SESSION_COOKIE
from .oauth_attempts import Attempts
from .oauth_client import OAuthClient
from .request import Answer, Redirect, Request
from .sessions import Session, SessionStore
from .views import filters

if TYPE_CHECKING:
    from ..auth.identity import Identity
    from ..host import GatewayHost

UI = "/ui"

_STATIC = {"style.css": b"text/css; charset=utf-8", "favicon.svg": b"image/svg+xml"}


class Dashboard:
    def __init__(self, gateway: GatewayHost) -> None:
        self.gateway = gateway
        self.clock = time.time  # wall clock for token expiry (a test moves it)
        settings = gateway.config.ui
        self.sessions = SessionStore(
            idle=settings.idle_minutes * 60, lifetime=settings.max_hours * 3600, capacity=settings.max_sessions
        )
        self.templates = Environment(
            loader=PackageLoader("mcp_guard.ui", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters.update(filters())
        self.oauth_attempts = Attempts()
        self._oauth_client: OAuthClient | None = None
        self.routes: list[tuple[str, re.Pattern[str], Handler, bool]] = [
            (method, re.compile(f"^{pattern}$"), handler, public) for method, pattern, handler, public in pages.ROUTES
        ]

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if not self.gateway.config.ui.enabled:
            await self._error(send, NotFound("The dashboard is switched off (ui.enabled: false)"))
            return
        base, sub = where(scope)
        if sub.startswith("/static/"):
            await self._static(send, sub.removeprefix("/static/"))
            return
        request = Request(scope, base)
        try:
            handler, public = self._route(scope["method"], sub, request)
            if not public and not await self._authenticate(request, send):
                return
            if scope["method"] == "POST":
                request.form = await read_form(scope, receive)
                if not public:
                    await self._check_csrf(request)
            answer = await handler(self, request)
        except GatewayError as exc:
            await self._refuse(send, exc, request)
            return
        await self._answer(send, request, answer)

    @property
    def oauth_client(self) -> OAuthClient | None:
        """The client logging in with `ui.oauth`'s issuer (None without it), rebuilt when the settings change;
        it shares the resource server's keys of that issuer."""
        settings, tokens = self.gateway.config.ui.oauth, self.gateway.governance.keys.tokens
        if settings is None or tokens is None:
            return None
        if self._oauth_client is None or self._oauth_client.settings != settings:
            keys = tokens.verifier.keys(settings.issuer)
            timeout = tokens.settings.http_timeout_seconds
            self._oauth_client = OAuthClient(settings, tokens.settings.resource, keys, timeout)
        return self._oauth_client

    def _route(self, method: str, sub: str, request: Request) -> tuple[Handler, bool]:
        allowed = False
        for route_method, pattern, handler, public in self.routes:
            match = pattern.match(sub)
            if match is None:
                continue
            if route_method == method:
                request.params = match.groupdict()
                return handler, public
            allowed = True
        if allowed:
            raise MethodNotAllowed(f"{method} is not allowed on the dashboard page {sub}")
        raise NotFound(f"No dashboard page {sub!r}")

    async def _authenticate(self, request: Request, send: Any) -> bool:
        """Find the session and its admin: a page without one redirects to the login form; a change is 401."""
        token = cookies(request.scope).get(SESSION_COOKIE, "")
        session = self.sessions.get(token) if token else None
        if session is not None:
            try:
                identity = self._identity(session)
                if not identity.principal.is_admin:
                    raise NotAllowed(f"'{identity.principal.key_name}' is no longer an admin")
            except GatewayError:  # deactivated, expired, removed, no longer admin: the session ends
                self.sessions.close(token)
                session = None
            else:
                request.session, request.principal = session, identity.principal
                return True
        if request.scope["method"] == "GET":
            await redirect(send, request.base + "/login", [self._clear(request, SESSION_COOKIE)])
        else:
            await self._refuse(send, Unauthenticated("Log in to the dashboard first"), request)
        return False

    def _identity(self, session: Session) -> Identity:
        """Who the session is now: its key resolved again, or its token's claims mapped again (until the
        token expires)."""
        keys = self.gateway.governance.keys
        if session.claims is None:
            identity = keys.identify_hash(session.key_hash)
            keys.check_usable(identity)
            return identity
        if keys.tokens is None or session.expires is None or self.clock() >= session.expires:
            raise Unauthenticated("The session's access token expired (or OAuth is no longer configured)")
        return keys.tokens.identity(session.claims)

    async def _check_csrf(self, request: Request) -> None:
        if request.session is None or not request.session.csrf_ok(request.field("csrf")):
            raise NotAllowed("The form's CSRF token is missing or wrong: reload the page and try again")

    async def _refuse(self, send: Any, error: GatewayError, request: Request) -> None:
        """Answer a refused request with the error page, and audit it (`ui/request`: its method and path)."""
        scope = request.scope
        await record_action(self.gateway, request, "request", {"method": scope["method"], "path": scope["path"]}, error)
        await self._error(send, error, request)

    async def _answer(self, send: Any, request: Request, answer: Answer) -> None:
        if isinstance(answer, Redirect):
            await redirect(send, answer.to if answer.external else request.base + answer.to, answer.headers)
            return
        html = self.render(request, answer.template, answer.context)
        await send_html(send, answer.status, html, answer.headers)

    def render(self, request: Request, template: str, context: dict[str, Any]) -> str:
        session = request.session
        notice, secret = session.take_notice() if session is not None else (None, None)
        return self.templates.get_template(template).render(
            base=request.base,
            principal=request.principal,
            csrf=session.csrf if session is not None else "",
            notice=notice,
            secret=secret,
            page=where(request.scope)[1],
            **context,
        )

    async def _error(self, send: Any, error: GatewayError, request: Request | None = None) -> None:
        base = request.base if request is not None else ""
        context = {"error": error, "base": base, "principal": request.principal if request else None, "csrf": ""}
        html = self.templates.get_template("error.html").render(**context)
        await send_html(send, error.status, html, [(k.lower().encode(), v.encode()) for k, v in error.headers.items()])

    async def _static(self, send: Any, name: str) -> None:
        if name not in _STATIC:
            await self._error(send, NotFound(f"No dashboard file {name!r}"))
            return
        body = resources.files("mcp_guard.ui").joinpath("static", name).read_bytes()
        await send_file(send, body, _STATIC[name])

    def _clear(self, request: Request, name: str) -> tuple[bytes, bytes]:
        return set_cookie(request.scope, name, "", path=request.base or "/", max_age=0)

    def cookie(
        self, request: Request, name: str, value: str, max_age: int | None = None, same_site: str = "Strict"
    ) -> tuple[bytes, bytes]:
        return set_cookie(request.scope, name, value, path=request.base or "/", max_age=max_age, same_site=same_site)


def where(scope: Scope) -> tuple[str, str]:
    """(the dashboard's base URL path, the page path below it). With a `root_path` (Starlette's mounts, a
    proxy's prefix) the base is that plus `/ui`; without one it is read off the path the client sent
    (`raw_path`): Litestar's mount leaves `root_path` empty and gives `path` without the mount (and with a
    trailing slash)."""
    path = app_path(scope).rstrip("/")
    sub = path.removeprefix(UI) or "/"
    root = scope.get("root_path", "")
    if root:
        return root + path.removesuffix(sub if sub != "/" else ""), sub
    raw = scope.get("raw_path")
    sent = (raw.decode("latin-1") if raw else path).rstrip("/")
    segments = 0 if sub == "/" else sub.count("/")
    return (sent.rsplit("/", segments)[0] if segments else sent), sub
