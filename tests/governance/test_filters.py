"""Header filters: every combination of include/exclude/wildcards/empty, repeated headers and aliases."""

import pytest

from mcp_guard.filters import FilteredOut, HeaderFilter
from mcp_guard.names import ToolRef

from .asgi_helpers import make_scope

READ = ToolRef("filesystem", "read_file")
WRITE = ToolRef("filesystem", "write_file")
QUERY = ToolRef("database", "query")
SEARCH = ToolRef("web-search", "search")
ALL = {READ, WRITE, QUERY, SEARCH}


def visible(*headers: tuple[str, str]) -> set[ToolRef] | None:
    rule = HeaderFilter.from_scope(make_scope(headers=list(headers)))
    return None if rule is None else {ref for ref in ALL if rule.allows(ref)}


def test_no_header_means_no_filter():
    assert visible() is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("x-mcp-include-clients", "filesystem")], {READ, WRITE}),
        ([("x-mcp-include-clients", "filesystem, database")], {READ, WRITE, QUERY}),
        ([("x-mcp-include-clients", "*")], ALL),
        ([("x-mcp-include-clients", "")], set()),
        ([("x-mcp-include-tools", "filesystem/read_file")], {READ}),
        ([("x-mcp-include-tools", "filesystem/*")], {READ, WRITE}),
        ([("x-mcp-include-tools", "*")], ALL),
        ([("x-mcp-include-tools", "")], set()),
        ([("x-mcp-include-tools", "query")], {QUERY}),  # a bare tool name, on any server
        ([("x-mcp-include-tools", "filesystem__write_file")], {WRITE}),  # an exposed name
        ([("x-mcp-exclude-tools", "filesystem/write_file")], ALL - {WRITE}),
        ([("x-mcp-exclude-tools", "*")], set()),
        ([("x-mcp-exclude-tools", "")], ALL),  # nothing excluded
        ([("x-mcp-include-clients", "filesystem"), ("x-mcp-include-tools", "*/query, filesystem/read_file")], {READ}),
        ([("x-mcp-include-tools", "filesystem/*"), ("x-mcp-exclude-tools", "*/write_*")], {READ}),
        ([("x-mcp-include-clients", "database"), ("x-mcp-exclude-tools", "database/*")], set()),
        # repeated header lines are one list
        ([("x-mcp-include-clients", "filesystem"), ("x-mcp-include-clients", "database")], {READ, WRITE, QUERY}),
        # Bifrost's names are aliases, combined with ours
        ([("x-bf-mcp-include-clients", "web-search")], {SEARCH}),
        ([("x-bf-mcp-include-tools", "database/query"), ("x-mcp-include-tools", "web-search/*")], {QUERY, SEARCH}),
    ],
)
def test_combinations(headers, expected):
    assert visible(*headers) == expected


def test_denial_names_the_header():
    rule = HeaderFilter.from_scope(make_scope(headers=[("x-mcp-include-clients", "database")]))
    error = rule.denial(READ)
    assert isinstance(error, FilteredOut) and error.status == 403
    assert "server 'filesystem' is not in this request's x-mcp-include-clients" in error.message
    excluded = HeaderFilter.from_scope(make_scope(headers=[("x-mcp-exclude-tools", "database/*")])).denial(QUERY)
    assert "x-mcp-exclude-tools" in excluded.message


SERVERS = ("filesystem", "database", "web-search", "web")


def visible_with(servers, *headers):
    rule = HeaderFilter.from_scope(make_scope(headers=list(headers)), servers)
    return {ref for ref in ALL if rule.allows(ref)}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("filesystem-read_file", {READ}),  # Bifrost's `client-tool`
        ("filesystem_read_file", {READ}),  # older Bifrost's `client_tool`
        ("filesystem-*", {READ, WRITE}),  # a whole client
        ("web-search-search, database/query", {SEARCH, QUERY}),  # `web-search` + `search` (no `web/search-search`)
        ("secure-database/*", set()),  # a server that is not configured
    ],
)
def test_bifrost_forms_are_read_against_the_configured_servers(value, expected):
    assert visible_with(SERVERS, ("x-bf-mcp-include-tools", value)) == expected


def test_entries_that_match_nothing_configured_are_named():
    rule = HeaderFilter.from_scope(
        make_scope(
            headers=[
                ("x-bf-mcp-include-clients", "filesystem, billing"),
                ("x-bf-mcp-include-tools", "filesystem/read_*, audit-logger/log_access, database-nope, websearch-*"),
            ]
        ),
        SERVERS,
    )
    known = [READ, WRITE, QUERY, SEARCH, ToolRef("web", "fetch")]
    assert [(entry.header, entry.text) for entry in rule.unmatched(SERVERS, known)] == [
        ("x-mcp-include-clients", "billing"),
        ("x-mcp-include-tools", "audit-logger/log_access"),
        ("x-mcp-include-tools", "database-nope"),  # database has no such tool, and no server a tool of that name
        ("x-mcp-include-tools", "websearch-*"),  # the server is `web-search`
    ]
    # while a server's tools are unknown (not connected yet), a name that could be one of them is not reported
    assert [entry.text for entry in rule.unmatched(SERVERS, [READ, WRITE, QUERY])] == [
        "billing",
        "audit-logger/log_access",
    ]


# -- resources and prompts


def test_resource_and_prompt_headers_narrow_their_own_kind_only():
    from mcp_guard.names import PromptRef, ResourceRef

    readme, keys = ResourceRef("docs", "file:///public/readme"), ResourceRef("docs", "file:///private/keys")
    review, deploy = PromptRef("git", "review"), PromptRef("git", "deploy")
    rule = HeaderFilter.from_scope(
        make_scope(
            headers=[
                ("x-mcp-include-resources", "docs/file:///public/*"),
                ("x-mcp-exclude-prompts", "git__deploy"),
            ]
        )
    )
    assert rule is not None
    assert [rule.allows(r) for r in (readme, keys, review, deploy, READ)] == [True, False, True, False, True]
    assert "x-mcp-include-resources" in rule.denial(keys).message
    assert rule.denial(deploy).message == (
        "Prompt 'deploy' of server 'git' is filtered out: it matches this request's x-mcp-exclude-prompts"
    )
    shown = HeaderFilter.from_scope(
        make_scope(headers=[("x-mcp-include-resources", "mcp-guard://docs/file:///public/readme")])
    )
    assert shown is not None and shown.allows(readme) and not shown.allows(keys)
    nothing = HeaderFilter.from_scope(make_scope(headers=[("x-mcp-include-prompts", "")]))
    assert nothing is not None and not nothing.allows(review) and nothing.allows(READ)
    clients = HeaderFilter.from_scope(make_scope(headers=[("x-mcp-include-clients", "git")]))
    assert clients is not None and clients.allows(review) and not clients.allows(readme)


@pytest.mark.parametrize("entry", ["docs/", "/x"])
def test_a_malformed_resource_entry_is_a_400_naming_it(entry):
    from mcp_guard.errors import BadRequest

    with pytest.raises(BadRequest, match=f"x-mcp-exclude-resources: entry {entry!r}"):
        HeaderFilter.from_scope(make_scope(headers=[("x-mcp-exclude-resources", entry)]))


def test_which_servers_a_filter_could_show_anything_of():
    from mcp_guard.auth.access import PrincipalAccess
    from mcp_guard.patterns import PatternSet

    rule = HeaderFilter.from_scope(
        make_scope(headers=[("x-mcp-include-clients", "docs, git"), ("x-mcp-include-prompts", "git/review")])
    )
    assert rule is not None
    assert [rule.may_see_any(kind, server) for kind, server in [("resource", "docs"), ("resource", "web")]] == [
        True,
        False,
    ]
    assert [rule.may_see_any("prompt", server) for server in ("git", "docs")] == [True, False]
    access = PrincipalAccess("k", ("r",), PatternSet(["*", "resource:docs/file:///public/*"]), PatternSet())
    assert access.may_see_any("resource", "docs") and not access.may_see_any("resource", "git")
    assert not access.may_see_any("prompt", "docs")  # `*` is every tool, no prompt
