"""The REST route table matched by Starlette `Route`s: parameters, table order, 405 and 404 naming the problem."""

from __future__ import annotations

import pytest

from mcp_guard.errors import MethodNotAllowed, NotFound
from mcp_guard.router import ROUTES, GatewayRouter, servers_admin


def _router() -> GatewayRouter:
    router = GatewayRouter.__new__(GatewayRouter)  # matching needs the table only, not a running gateway
    router.routes = tuple(ROUTES)
    return router


def test_a_parameterised_path_binds_its_parameters() -> None:
    endpoint, params = _router()._match("PUT", "/credentials/github/alice")
    assert (endpoint.method, endpoint.path, params) == (
        "PUT",
        "/credentials/{server}/{user}",
        {"server": "github", "user": "alice"},
    )


def test_the_first_full_match_in_table_order_wins() -> None:
    endpoint, params = _router()._match("POST", "/servers/notes/reconnect")
    assert endpoint.path == "/servers/{name}/reconnect" and params == {"name": "notes"}
    endpoint, _ = _router()._match("POST", "/servers")
    assert endpoint.handler is servers_admin.add_server


def test_a_known_path_with_another_method_is_a_405_naming_the_allowed_ones() -> None:
    with pytest.raises(MethodNotAllowed) as raised:
        _router()._match("DELETE", "/keys")
    assert "DELETE is not allowed on /keys; use GET, POST" in str(raised.value)


def test_an_unknown_path_is_a_404_naming_it() -> None:
    with pytest.raises(NotFound, match="No route '/servers/a/b/c'"):
        _router()._match("GET", "/servers/a/b/c")


def test_a_parameter_does_not_match_across_slashes() -> None:
    with pytest.raises(NotFound):
        _router()._match("GET", "/credentials/a/b/c")
