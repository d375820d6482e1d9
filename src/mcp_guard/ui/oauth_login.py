"""Logging in to the dashboard with the identity provider (`ui.oauth`), beside the admin key form.

`GET /ui/oauth/login` starts an attempt (`oauth_client.Attempt`: state, nonce, PKCE verifier), keeps it in
this process's memory (`oauth_attempts.py`) under a random id sent in a short-lived cookie, and redirects to
the issuer. The issuer sends the browser back to `GET /ui/oauth/callback`: the attempt is taken (once) by the
cookie, the `state` must be its own (else 400: another site's or a replayed response), the code is redeemed
with the verifier, and the access token is checked by the resource server's `TokenAuthenticator`: audience,
issuer, signature, expiry, and the roles its claims map to, of which one must be admin (else 403). The
session is then opened as for a key, keeping only the token's claims and expiry; the token itself is dropped.

The attempt's cookie is SameSite=Lax, the only cookie that is: the callback is a navigation from the issuer's
site, which a Strict cookie would not accompany. For the same reason the callback answers a page that moves
on by itself (meta refresh) rather than a redirect: the Strict session cookie is sent on that same-site
navigation, not at the end of a redirect chain that began elsewhere. Every login, allowed or refused, is
audited as `ui/login` with `method: oauth`.
"""

from __future__ import annotations

import hmac
import math
from typing import TYPE_CHECKING, Any

from ..asgi import header
from ..errors import BadRequest, GatewayError, NotAllowed, NotFound
from .actions import record_action
from .http import cookies
from .login import LOGIN_COOKIE, SESSION_COOKIE, login_page
from .oauth_attempts import ATTEMPT_SECONDS
from .oauth_client import Attempt, OAuthClient
from .request import Answer, Page, Redirect, Request

if TYPE_CHECKING:
    from .handler import DashboardHost

ATTEMPT_COOKIE = "mcpg_oauth"


async def start(ui: DashboardHost, request: Request) -> Answer:
    client = _client(ui)
    attempt = Attempt(redirect_uri=client.settings.redirect_uri or _callback_url(request))
    url = await client.authorization_url(attempt)
    cookie = ui.cookie(request, ATTEMPT_COOKIE, ui.oauth_attempts.put(attempt), ATTEMPT_SECONDS, same_site="Lax")
    return Redirect(url, [cookie], external=True)


async def callback(ui: DashboardHost, request: Request) -> Answer:
    client = _client(ui)
    query = request.query
    audited: dict[str, Any] = {"method": "oauth", "issuer": client.settings.issuer}
    cleared = ui.cookie(request, ATTEMPT_COOKIE, "", max_age=0, same_site="Lax")
    try:
        attempt = _checked(query, ui.oauth_attempts.take(cookies(request.scope).get(ATTEMPT_COOKIE, "")), client)
        token, _ = await client.exchange(query["code"], attempt)
        tokens = ui.gateway.governance.keys.tokens
        if tokens is None:
            raise NotFound("OAuth is not configured (auth.oauth)")
        claims = await tokens.verified_claims(token)
        identity = tokens.identity(claims)
    except GatewayError as exc:
        await record_action(ui.gateway, request, "login", audited, exc)
        return _refused(ui, request, exc, cleared)
    request.principal = identity.principal
    if not identity.principal.is_admin:
        refusal = NotAllowed(f"'{identity.principal.key_name}' has no admin role (from the token's claims)")
        await record_action(ui.gateway, request, "login", audited, refusal)
        return _refused(ui, request, refusal, cleared)
    # without `exp` (an introspected token may omit it) only the session's own limits end it
    expires = float(claims["exp"]) if isinstance(claims.get("exp"), int | float) else math.inf
    session_id, session = ui.sessions.open("", claims=claims, expires=expires)
    request.session = session
    await record_action(ui.gateway, request, "login", audited)
    headers = [cleared, ui.cookie(request, SESSION_COOKIE, session_id), ui.cookie(request, LOGIN_COOKIE, "", max_age=0)]
    return Page("logged_in.html", {"next": request.base + "/servers"}, 200, headers)


def _checked(query: dict[str, str], attempt: Attempt | None, client: OAuthClient) -> Attempt:
    """The attempt this browser started, when the callback answers it, from the issuer, with a code (RFC 6749
    §4.1.2, RFC 9207 `iss`); the issuer's own error is reported as it sent it."""
    issuer = client.settings.issuer
    if attempt is None:
        raise BadRequest("This OAuth login expired or was not started in this browser: log in again")
    if not hmac.compare_digest(attempt.state.encode(), query.get("state", "").encode()):
        raise BadRequest("The OAuth response's state does not match this login's: refused (log in again)")
    if "iss" in query and query["iss"] != issuer:
        raise BadRequest(f"The OAuth response comes from issuer {query['iss']!r}, not {issuer!r}")
    if "error" in query:
        detail = f": {query['error_description']}" if "error_description" in query else ""
        raise BadRequest(f"The identity provider refused the login ({query['error']}{detail})")
    if not query.get("code"):
        raise BadRequest("The OAuth response has no authorization code")
    return attempt


def _refused(ui: DashboardHost, request: Request, error: GatewayError, *headers: tuple[bytes, bytes]) -> Page:
    request.principal = None  # the login page shows no one as logged in
    page = login_page(ui, request, error.message, error.status)
    page.headers.extend(headers)
    return page


def _client(ui: DashboardHost) -> OAuthClient:
    if ui.oauth_client is None:
        raise NotFound("Logging in with an identity provider is not configured (ui.oauth)")
    return ui.oauth_client


def _callback_url(request: Request) -> str:
    scheme = request.scope.get("scheme", "http")
    host = header(request.scope, b"host") or "localhost"
    return f"{scheme}://{host}{request.base}/oauth/callback"
