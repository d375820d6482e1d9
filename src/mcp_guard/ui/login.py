"""Logging in with an admin key through a form, and out.

The key travels once, in the login form's body; the browser then holds only an opaque session id in an
HttpOnly, SameSite=Strict cookie. The login form has its own CSRF token (double submit: a cookie and the
same value in a hidden field) so that another site cannot log a browser in under its own key.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING

from ..auth.keys import hash_key
from ..errors import GatewayError, NotAllowed
from .actions import record_action
from .http import cookies
from .request import Answer, Page, Redirect, Request

if TYPE_CHECKING:
    from ..auth.principal import Principal
    from .handler import DashboardHost

SESSION_COOKIE = "mcpg_session"
LOGIN_COOKIE = "mcpg_login"
_LOGIN_TOKEN_SECONDS = 3600


async def login_form(ui: DashboardHost, request: Request) -> Answer:
    return login_page(ui, request)


async def login(ui: DashboardHost, request: Request) -> Answer:
    expected = cookies(request.scope).get(LOGIN_COOKIE, "")
    presented = request.field("csrf")
    if not expected or not hmac.compare_digest(expected.encode(), presented.encode()):
        return login_page(ui, request, "The login form expired or came from elsewhere: try again.", 403)
    key = request.field("key")
    if not key:
        return login_page(ui, request, "Enter an admin key.", 400)
    try:
        identity = ui.gateway.governance.keys.authenticate(key)
    except GatewayError as exc:  # unknown (401), inactive or expired (403)
        known = _known_principal(ui, key)
        await record_action(ui.gateway, request, "login", {}, exc, principal=known, key=key)
        return login_page(ui, request, exc.message, exc.status)
    if not identity.principal.is_admin:
        refusal = NotAllowed(f"Key '{identity.principal.key_name}' is not an admin key")
        await record_action(ui.gateway, request, "login", {}, refusal, principal=identity.principal, key=key)
        return login_page(ui, request, refusal.message, refusal.status)
    token, session = ui.sessions.open(hash_key(key))
    request.session, request.principal = session, identity.principal
    await record_action(ui.gateway, request, "login", {})
    headers = [ui.cookie(request, SESSION_COOKIE, token), ui.cookie(request, LOGIN_COOKIE, "", max_age=0)]
    return Redirect("/servers", headers)


async def logout(ui: DashboardHost, request: Request) -> Answer:
    ui.sessions.close(cookies(request.scope).get(SESSION_COOKIE, ""))
    await record_action(ui.gateway, request, "logout", {})
    return Redirect("/login", [ui.cookie(request, SESSION_COOKIE, "", max_age=0)])


def _known_principal(ui: DashboardHost, key: str) -> Principal | None:
    """The principal of a known key that may not log in (inactive, expired), to say who tried."""
    try:
        return ui.gateway.governance.keys.identify(key).principal
    except GatewayError:
        return None


def login_page(ui: DashboardHost, request: Request, error: str | None = None, status: int = 200) -> Page:
    """The login page with a fresh login token (its cookie set alongside), and the identity provider's
    button when `ui.oauth` is configured."""
    token = secrets.token_urlsafe(32)
    cookie = ui.cookie(request, LOGIN_COOKIE, token, max_age=_LOGIN_TOKEN_SECONDS)
    oauth = ui.gateway.config.ui.oauth
    provider = (oauth.label or oauth.issuer) if oauth is not None else None
    return Page("login.html", {"login_token": token, "error": error, "provider": provider}, status, [cookie])
