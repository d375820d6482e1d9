"""Driving the dashboard over plain HTTP: log in through its form, read the CSRF token off a page."""

from __future__ import annotations

import re
from html import unescape

import httpx2

UI = "/mcp/ui"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    if match is None:
        raise AssertionError(f"no CSRF field on the page: {html[:500]}")
    return match.group(1)


async def login(http: httpx2.AsyncClient, key: str, base: str = UI) -> httpx2.Response:
    """Post the login form as a browser would (its login token from the form's page and cookie)."""
    form = await http.get(f"{base}/login")
    assert form.status_code == 200, form.text
    return await http.post(f"{base}/login", data={"key": key, "csrf": csrf_of(form.text)})


async def logged_in(http: httpx2.AsyncClient, key: str, base: str = UI) -> str:
    """Log in and return the session's CSRF token."""
    answer = await login(http, key, base)
    assert answer.status_code == 303 and answer.headers["location"] == f"{base}/servers", answer.text
    page = await http.get(f"{base}/servers")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def notices(html: str) -> list[str]:
    found = re.findall(r'<p class="notice [a-z]+" role="[a-z]+">([^<]*)</p>', html)
    return [unescape(text) for text in found]
