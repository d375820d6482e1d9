"""The dashboard in a real browser (Debian's Chromium driven by Playwright) at 1366×768: log in by keyboard,
see the servers and their state, find a call in the audit trail, create and revoke a key and see it refused
at /mcp, see the spend chart drawn; no console error on any page.

Screenshots of every page go to the test's temporary folder, and to `docs/ui/` when
`MCPG_UI_SCREENSHOTS=docs/ui` is set (how the pictures in the docs were made)."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

from tests.ui.conftest import ROOT, Dashboard

VIEWPORT = {"width": 1366, "height": 768}
WAIT_MS = 20_000  # how long an expectation waits for the page (generous: the machine may be busy)
expect.set_options(timeout=WAIT_MS)


def http(url: str, key: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """A plain request to the gateway's API with a key, as an application would send it."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"x-api-key": key, "content-type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


@pytest.fixture
def page(chromium: str, tmp_path: Path) -> Iterator[tuple[Page, list[str]]]:
    """A fresh browser page at 1366×768 and the console errors (and page errors) it collects."""
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"{message.type}: {message.text} ({message.location.get('url')})")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.on("console", console)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        try:
            yield page, problems
        finally:
            browser.close()


class Shots:
    """Full-page screenshots, named by page."""

    def __init__(self, folder: Path) -> None:
        self.folders = [folder]
        if os.environ.get("MCPG_UI_SCREENSHOTS"):
            self.folders.append(ROOT / os.environ["MCPG_UI_SCREENSHOTS"])

    def take(self, page: Page, name: str) -> None:
        for folder in self.folders:
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"{name}.png"), full_page=False)


def test_dashboard_end_to_end(dashboard: Dashboard, page: tuple[Page, list[str]], tmp_path: Path) -> None:
    browser_page, problems = page
    ui = f"{dashboard.url}/ui"
    shots = Shots(tmp_path / "shots")

    # unauthenticated: sent to the login form, where the key field has focus; the form submits by keyboard
    browser_page.goto(f"{ui}/keys")
    expect(browser_page).to_have_url(f"{ui}/login")
    expect(browser_page.locator("#key")).to_be_focused()
    shots.take(browser_page, "login")
    browser_page.keyboard.type(dashboard.admin)
    browser_page.keyboard.press("Enter")
    expect(browser_page).to_have_url(f"{ui}/servers")
    assert dashboard.admin not in browser_page.url
    assert browser_page.evaluate("document.cookie") == ""  # HttpOnly: no script can read the session
    assert browser_page.evaluate("window.localStorage.length") == 0

    # servers and their state
    servers = browser_page.locator("#servers")
    expect(servers.locator('tr[data-server="demo"] .state')).to_have_text("connected")
    expect(servers.locator('tr[data-server="notes"] .state')).to_have_text("connected")
    expect(servers.locator('tr[data-server="search"] .state')).to_have_text(re.compile("disconnected|connecting"))
    expect(servers.locator('tr[data-server="search"] .error-text')).not_to_have_text("—")
    shots.take(browser_page, "servers")

    # focus is visible: the first Tab lands on the skip link, drawn with an outline
    browser_page.keyboard.press("Tab")
    focused = browser_page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.className, s.outlineStyle, parseFloat(s.outlineWidth)]; })()"
    )
    assert focused[0] == "skip" and focused[1] != "none" and focused[2] >= 2, focused

    # a call through the REST API shows up in the audit view, with its detail
    call = {"id": "c1", "type": "function", "function": {"name": "demo__word_count",
                                                         "arguments": '{"text": "seen in the browser"}'}}  # fmt: skip
    status, answer = http(f"{dashboard.url}/mcp/tool/execute", dashboard.admin, call)
    assert status == 200 and answer["tool_call_id"] == "c1", answer
    browser_page.get_by_role("link", name="Audit").click()
    browser_page.get_by_label("Tool").fill("demo/word_count")
    browser_page.get_by_role("button", name="Search").click()
    newest = browser_page.locator("#audit tbody tr").first
    expect(newest).to_have_attribute("data-tool", "demo/word_count")
    newest.locator("summary").click()
    expect(newest.locator("pre")).to_contain_text("seen in the browser")
    shots.take(browser_page, "audit")
    browser_page.get_by_role("button", name="Verify chain").click()
    expect(browser_page.locator(".notice.ok")).to_contain_text("Audit chain intact")

    # a key created here works at /mcp; deactivated here, it is refused there
    browser_page.get_by_role("link", name="Keys & teams").click()
    browser_page.get_by_label("Name").fill("browser-bot")
    browser_page.get_by_label("analyst").check()
    browser_page.get_by_label("Team").select_option("research")
    browser_page.get_by_label("Budget (USD, optional)").fill("2.5")
    browser_page.get_by_role("button", name="Create key").click()
    secret = browser_page.locator("#new-secret").inner_text()
    assert secret.startswith("mcpg_")
    shots.take(browser_page, "keys")
    assert http(f"{dashboard.url}/mcp/tools", secret)[0] == 200
    browser_page.get_by_role("button", name="Deactivate browser-bot").click()
    expect(browser_page.locator(".notice.ok")).to_contain_text("deactivated")
    expect(browser_page.locator("#new-secret")).to_have_count(0)  # shown once only
    status, refusal = http(f"{dashboard.url}/mcp/tools", secret)
    assert status == 403 and "inactive" in refusal["detail"]

    # the spend chart is drawn from the week of history and today's calls
    browser_page.get_by_role("link", name="Spend").click()
    browser_page.get_by_label("Period").select_option("7d")
    browser_page.get_by_label("Group by").select_option("tool")
    browser_page.get_by_role("button", name="Show").click()
    chart = browser_page.locator("svg#cost-chart")
    expect(chart.locator("g.series")).to_have_count(3)
    points = chart.locator('g[data-series="demo/convert_currency"] polyline').get_attribute("points") or ""
    heights = {float(pair.split(",")[1]) for pair in points.split()}
    assert len(points.split()) >= 7 and len(heights) > 1, points  # a line over the days, not a flat one
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    shots.take(browser_page, "spend")

    browser_page.get_by_role("link", name="Tools").click()
    browser_page.get_by_label("Filter").fill("demo")
    browser_page.keyboard.press("Enter")
    expect(browser_page.locator('#tools tr[data-tool="demo/convert_currency"]')).to_contain_text("$0.02")
    shots.take(browser_page, "tools")

    # the layout fits 1366 px: no page scrolls sideways
    for path in ("servers", "tools", "keys", "audit", "spend"):
        browser_page.goto(f"{ui}/{path}")
        width = browser_page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORT["width"], (path, width)

    browser_page.get_by_role("button", name="Log out").click()
    expect(browser_page).to_have_url(f"{ui}/login")
    browser_page.goto(f"{ui}/servers")
    expect(browser_page).to_have_url(f"{ui}/login")
    assert problems == []


def test_non_admin_key_cannot_log_in(dashboard: Dashboard, page: tuple[Page, list[str]]) -> None:
    browser_page, _problems = page
    browser_page.goto(f"{dashboard.url}/mcp/ui/login")
    browser_page.get_by_label("Admin key").fill(dashboard.worker)
    browser_page.get_by_role("button", name="Log in").click()
    expect(browser_page.locator("#login-error")).to_contain_text("is not an admin key")
    browser_page.goto(f"{dashboard.url}/mcp/ui/servers")
    expect(browser_page).to_have_url(f"{dashboard.url}/mcp/ui/login")
