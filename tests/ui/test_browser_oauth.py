"""Logging in to the dashboard with the identity provider in a real browser (Debian's Chromium driven by
Playwright): the login page's button, the provider's sign-in page (the npm `oidc-provider`, signing in its
default account `alice` with one button), back to the dashboard and on to its pages.

The dashboard is opened as `http://localhost:<port>` and the provider is at `http://127.0.0.1:<port>`: two
different sites, so the browser applies its SameSite rules as it would with a real identity provider (the
attempt's Lax cookie must come back on the provider's redirect; the Strict session cookie must be sent on
the way on from the callback)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect, sync_playwright

from mcp_guard.auth.keys import generate_key, hash_key
from tests.oauth.conftest import ACCOUNTS
from tests.oauth.issuers import OpenIDProvider
from tests.support.processes import ServerProcess, free_port
from tests.ui.conftest import ROOT

pytestmark = pytest.mark.node  # oidc-provider runs on node

WAIT_MS = 20_000


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """`mcp-guard serve` with `ui.oauth` on the provider; the dashboard's URL, under `localhost`."""
    port = free_port()
    dashboard = f"http://localhost:{port}/ui"
    with OpenIDProvider(
        f"http://127.0.0.1:{port}/mcp",
        ACCOUNTS,
        dashboard_redirects=(f"{dashboard}/oauth/callback",),
        sign_in_form=True,
    ) as provider:
        config = {
            "roles": {"admin": {"tools": ["*"], "admin": True}},
            "keys": [{"name": "ops", "hash": hash_key(generate_key()), "roles": ["admin"]}],
            "auth": {"store": "memory://", "oauth": {
                "resource": f"http://127.0.0.1:{port}/mcp",
                "issuers": [{"issuer": provider.issuer}],
                "claims": {"roles": "groups", "role_map": {"admin": ["admin"]}},
            }},
            "ui": {"oauth": {"issuer": provider.issuer, "client_id": "dashboard", "label": "Test IdP"}},
            "audit": {"sink": f"sqlite:///{tmp_path / 'audit.db'}"},
        }  # fmt: skip
        (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(config))
        argv = [sys.executable, "-m", "mcp_guard.cli", "serve", str(tmp_path / "gateway.yaml"), "--port", str(port)]
        with ServerProcess(argv, port=port, cwd=ROOT, startup_timeout=60):
            yield dashboard


def test_log_in_with_the_provider_in_a_browser(chromium: str, site: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(WAIT_MS)
            page.goto(f"{site}/keys")
            expect(page).to_have_url(f"{site}/login", timeout=WAIT_MS)
            page.get_by_role("link", name="Log in with Test IdP").click()
            page.get_by_role("button", name="Sign in").click()  # at the provider, another site
            expect(page).to_have_url(f"{site}/servers", timeout=WAIT_MS)
            expect(page.locator(".who")).to_have_text("alice@example.com", timeout=WAIT_MS)
            page.get_by_role("link", name="Keys & teams").click()
            expect(page).to_have_url(f"{site}/keys", timeout=WAIT_MS)
            assert page.evaluate("document.cookie") == ""  # HttpOnly session, no token anywhere
        finally:
            browser.close()
