"""The dashboard's routes: (method, path below `/ui` as a regular expression, handler, public?). Public
routes need no session: the login form itself, and the identity provider's login and callback. Every other
page needs an admin's session, and every POST among them the session's CSRF token."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import audit, keys, login, oauth_login, servers, spend, tools
from .request import Answer, Redirect, Request

if TYPE_CHECKING:
    from .handler import DashboardHost, Handler


async def home(ui: DashboardHost, request: Request) -> Answer:
    return Redirect("/servers")


_NAME = r"(?P<name>[^/]+)"

ROUTES: list[tuple[str, str, Handler, bool]] = [
    ("GET", "/login", login.login_form, True),
    ("POST", "/login", login.login, True),
    ("GET", "/oauth/login", oauth_login.start, True),
    ("GET", "/oauth/callback", oauth_login.callback, True),
    ("POST", "/logout", login.logout, False),
    ("GET", "/", home, False),
    ("GET", "/servers", servers.servers_page, False),
    ("POST", "/servers", servers.add_server, False),
    ("POST", f"/servers/{_NAME}/(?P<action>reconnect|disable|enable|remove)", servers.server_action, False),
    ("GET", "/tools", tools.tools_page, False),
    ("GET", "/keys", keys.keys_page, False),
    ("POST", "/keys", keys.create_key, False),
    ("POST", "/keys/(?P<key_id>[^/]+)/deactivate", keys.deactivate_key, False),
    ("POST", "/keys/(?P<key_id>[^/]+)/budget", keys.set_budget, False),
    ("GET", "/audit", audit.audit_page, False),
    ("POST", "/audit/verify", audit.verify_chain, False),
    ("GET", "/spend", spend.spend_page, False),
]
