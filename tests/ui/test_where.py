"""Where the dashboard is: its base path (for links and the cookie) and the page below it, whatever the
framework did to `path` and `root_path`."""

from __future__ import annotations

import pytest

from mcp_guard.ui.app import where


@pytest.mark.parametrize(
    ("scope", "base", "page"),
    [
        ({"path": "/ui/login", "root_path": "", "raw_path": b"/ui/login"}, "/ui", "/login"),
        ({"path": "/mcp/ui/", "root_path": "/mcp", "raw_path": b"/mcp/ui/"}, "/mcp/ui", "/"),
        ({"path": "/mcp/ui", "root_path": "/mcp"}, "/mcp/ui", "/"),
        # Litestar's mount: no mount in `path`, a trailing slash, an empty root path
        ({"path": "/ui/servers/my x/disable/", "root_path": "", "raw_path": b"/mcp/ui/servers/my%20x/disable"},
         "/mcp/ui", "/servers/my x/disable"),
        # behind a proxy that strips its prefix and tells the server (`--root-path /gw`)
        ({"path": "/gw/mcp/ui/keys", "root_path": "/gw/mcp", "raw_path": b"/mcp/ui/keys"}, "/gw/mcp/ui", "/keys"),
    ],
)  # fmt: skip
def test_where_the_dashboard_is(scope: dict[str, object], base: str, page: str) -> None:
    assert where(scope) == (base, page)
