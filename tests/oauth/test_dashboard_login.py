"""Logging in to the dashboard with the identity provider (`ui.oauth`): the real `oidc-provider` as issuer,
its public client `dashboard`; the test plays the browser, following the redirects from the dashboard to the
provider (login and consent granted there for the `login_hint` account) and back to the callback."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx2
import pytest

from mcp_guard import Gateway
from mcp_guard.config import parse_config
from mcp_guard.errors import ConfigError
from mcp_guard.server import standalone_app
from tests.integration.gateway_fixtures import http_client, make_tools
from tests.oauth.gateway import document, stored
from tests.oauth.issuers import OpenIDProvider

pytestmark = [pytest.mark.anyio, pytest.mark.node]  # oidc-provider runs on node

UI = "/ui"


def with_login(provider: OpenIDProvider, tmp_path: Path, **changes: Any) -> dict[str, Any]:
    config = document([provider.issuer], tmp_path)
    config["ui"] = {"oauth": {"issuer": provider.issuer, "client_id": "dashboard", "label": "Test IdP"}}
    config["auth"]["oauth"]["claims"].update(changes)
    return config


@asynccontextmanager
async def dashboard(provider: OpenIDProvider, tmp_path: Path) -> AsyncIterator[tuple[Gateway, httpx2.AsyncClient]]:
    gateway = Gateway(parse_config(with_login(provider, tmp_path)), inprocess=[make_tools()])
    async with gateway.lifespan(), http_client(standalone_app(gateway)) as http:
        yield gateway, http


async def start(http: httpx2.AsyncClient) -> str:
    """Press "Log in with …": the provider's authorization URL the dashboard redirects to."""
    page = await http.get(f"{UI}/login")
    assert 'id="oauth-login"' in page.text and "Log in with Test IdP" in page.text
    answer = await http.get(f"{UI}/oauth/login")
    assert answer.status_code == 303, answer.text
    assert "samesite=lax" in answer.headers["set-cookie"].lower()
    return answer.headers["location"]


async def at_the_provider(authorization_url: str, account: str) -> str:
    """The URL the provider sends the browser back to (the dashboard's callback) after logging `account` in."""
    url = f"{authorization_url}&login_hint={account}"
    async with httpx2.AsyncClient(follow_redirects=False, timeout=10) as browser:
        for _ in range(10):
            response = await browser.get(url)
            assert response.status_code in (302, 303), (url, response.status_code, response.text[:300])
            url = urljoin(url, response.headers["location"])
            if url.startswith("http://127.0.0.1/"):
                return url
    raise AssertionError(f"the provider never redirected back to the dashboard (last: {url})")


async def log_in(http: httpx2.AsyncClient, account: str) -> httpx2.Response:
    """The whole flow; the callback's answer."""
    return await http.get(await at_the_provider(await start(http), account))


def logins(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["server"] == "ui" and r["tool"] == "login"]


async def test_an_admin_logs_in_with_the_provider_and_uses_the_dashboard(provider, tmp_path):
    async with dashboard(provider, tmp_path) as (gateway, http):
        authorization_url = await start(http)
        query = parse_qs(urlsplit(authorization_url).query)
        assert authorization_url.startswith(f"{provider.issuer}/auth?")
        assert query["code_challenge_method"] == ["S256"] and query["client_id"] == ["dashboard"]
        assert query["redirect_uri"] == ["http://127.0.0.1/ui/oauth/callback"]
        assert {"state", "nonce", "code_challenge", "resource"} <= set(query)
        callback = await http.get(await at_the_provider(authorization_url, "alice"))
        assert callback.status_code == 200, callback.text
        assert f'url={UI}/servers"' in callback.text  # moves on by itself, same-site (the cookie is Strict)
        session = [c for c in callback.headers.get_list("set-cookie") if c.startswith("mcpg_session=")]
        assert len(session) == 1 and "HttpOnly" in session[0] and "SameSite=Strict" in session[0]
        assert "." not in session[0].split(";")[0]  # an opaque id, not the token
        for page in ("/servers", "/keys", "/audit"):
            answer = await http.get(UI + page)
            assert answer.status_code == 200, (page, answer.text[:300])
            assert "alice@example.com" in answer.text
        records = logins(await stored(gateway))
    assert [(r["outcome"], r["key_name"], r["arguments"]) for r in records] == [
        ("ok", "alice@example.com", {"method": "oauth", "issuer": provider.issuer})
    ]


async def test_a_user_without_an_admin_group_is_refused_and_audited(provider, tmp_path):
    async with dashboard(provider, tmp_path) as (gateway, http):
        callback = await log_in(http, "nobody")
        assert callback.status_code == 403
        assert "nobody@example.com" in callback.text and "no admin role" in callback.text
        assert "mcpg_session=" not in " ".join(callback.headers.get_list("set-cookie"))
        assert (await http.get(f"{UI}/servers")).headers["location"] == f"{UI}/login"
        records = logins(await stored(gateway))
    assert [(r["outcome"], r["key_name"], r["arguments"]["method"]) for r in records] == [
        ("denied", "nobody@example.com", "oauth")
    ]


async def test_a_tampered_or_foreign_state_is_refused(provider, tmp_path):
    async with dashboard(provider, tmp_path) as (gateway, http):
        callback_url = await at_the_provider(await start(http), "alice")
        parts = urlsplit(callback_url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        tampered = await http.get(f"{parts.path}?{urlencode({**query, 'state': query['state'] + 'x'})}")
        assert tampered.status_code == 400 and "state does not match" in tampered.text
        # the attempt is used up: the genuine response cannot be replayed after a refusal either
        replayed = await http.get(callback_url)
        assert replayed.status_code == 400 and "not started in this browser" in replayed.text
        # a response arriving in another browser (no attempt cookie) is refused too
        async with http_client(standalone_app(gateway)) as other:
            foreign = await other.get(callback_url)
        assert foreign.status_code == 400
        assert (await http.get(f"{UI}/servers")).status_code == 303
        records = logins(await stored(gateway))
    assert [(r["outcome"], r["arguments"]["method"]) for r in records] == [("denied", "oauth")] * 3
    assert "state does not match" in records[0]["error"]


async def test_an_error_from_the_provider_is_shown_on_the_login_page(provider, tmp_path):
    async with dashboard(provider, tmp_path) as (_gateway, http):
        state = parse_qs(urlsplit(await start(http)).query)["state"][0]
        error = {"error": "access_denied", "error_description": "The user said no", "state": state}
        answer = await http.get(f"{UI}/oauth/callback?{urlencode(error)}")
    assert answer.status_code == 400
    assert "access_denied: The user said no" in answer.text and 'name="key"' in answer.text  # the login form


async def test_the_session_ends_when_the_token_expires_or_its_groups_stop_mapping_to_admin(provider, tmp_path):
    async with dashboard(provider, tmp_path) as (gateway, http):
        assert (await log_in(http, "alice")).status_code == 200
        assert (await http.get(f"{UI}/servers")).status_code == 200
        gateway.dashboard.clock = lambda: time.time() + 601  # the provider's tokens live 600 s
        assert (await http.get(f"{UI}/servers")).headers["location"] == f"{UI}/login"
        gateway.dashboard.clock = time.time
        assert (await http.get(f"{UI}/servers")).status_code == 303  # ended, not suspended

        assert (await log_in(http, "alice")).status_code == 200
        assert (await http.get(f"{UI}/servers")).status_code == 200
        demoted = with_login(provider, tmp_path, role_map={"admin": ["reader"]})
        gateway.governance.keys.reconfigure(parse_config(demoted))
        assert (await http.get(f"{UI}/servers")).headers["location"] == f"{UI}/login"


def test_the_login_issuer_must_be_an_accepted_issuer(tmp_path):
    config = document(["https://idp.example.com"], tmp_path)
    config["ui"] = {"oauth": {"issuer": "https://other.example.com", "client_id": "dashboard"}}
    with pytest.raises(ConfigError, match="ui.oauth.issuer"):
        parse_config(config)


async def test_hostile_callbacks_get_a_4xx_and_an_unconfigured_login_is_not_found(provider, tmp_path):
    async with dashboard(provider, tmp_path) as (_gateway, http):
        for query in ("", "?code=x&state=y", "?error=%00%ff&state=", "?state=" + "a" * 5000):
            answer = await http.get(f"{UI}/oauth/callback{query}")
            assert answer.status_code == 400, (query, answer.status_code)
    gateway = Gateway(parse_config(document([provider.issuer], tmp_path)), inprocess=[make_tools()])
    async with gateway.lifespan(), http_client(standalone_app(gateway)) as http:
        assert (await http.get(f"{UI}/oauth/login")).status_code == 404
        assert (await http.get(f"{UI}/oauth/callback?code=x&state=y")).status_code == 404
        assert "oauth-login" not in (await http.get(f"{UI}/login")).text
