"""Discovery: the server list, the three detail levels of a file, ranked search, and visibility throughout."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_guard.catalog import CatalogEntry
from mcp_guard.codemode import MetaToolError, ReadRequest, SearchRequest, ToolIndex, tool_files
from mcp_guard.codemode.bindings import server_globals

from .test_dts import ENTRIES, entry


def string(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def schema(*required: str, **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


CATALOG = [
    *ENTRIES,
    entry("github", "list_pull_requests", schema("repo", repo=string("owner/name")), None, "List pull requests."),
    entry("github", "merge_pull_request", schema("number", number={"type": "integer"}), None, "Merge a pull request."),
    entry(
        "linear",
        "create_issue",
        schema("title", "teamId", title=string("Title"), teamId=string("Team")),
        None,
        "Create a new issue in Linear.",
    ),  # fmt: skip
    entry("linear", "list_teams", schema(), None, "List the teams of the workspace."),
    entry(
        "slack",
        "post_message",
        schema("channel", "text", channel=string("#channel"), text=string("Message")),
        None,
        "Post a message to a Slack channel.",
    ),  # fmt: skip
    entry("slack", "list_channels", schema(), None, "List public channels."),
    entry(
        "weather",
        "get_forecast",
        schema("city", city=string("City name, e.g. Paris")),
        None,
        "Weather forecast for the next days.",
    ),  # fmt: skip
]


@pytest.fixture(scope="module")
def index() -> ToolIndex:
    return ToolIndex(CATALOG)


def visible_without(*servers: str) -> list[CatalogEntry]:
    return [e for e in CATALOG if e.ref.server not in servers]


def test_list_files_gives_one_line_per_visible_server(index: ToolIndex) -> None:
    lines = index.list_files(visible_without("weather")).splitlines()
    assert lines[0].startswith("4 servers, 11 tools. Find tools with searchTools(query)")
    assert "globals.d.ts declares ToolError, console and setTimeout" in lines[0]
    assert lines[1] == "servers/github.d.ts: `github`, 5 tools: pull request, repository, issue, me"
    assert lines[2].startswith("servers/linear.d.ts: `linear`, 2 tools: ")
    assert not any("weather" in line for line in lines)
    assert index.list_files([]) == "No tool files: no tools are available to your code."


def test_a_full_read_is_the_declaration_file_of_what_the_caller_sees(index: ToolIndex) -> None:
    full = index.read_file(CATALOG, ReadRequest("github"))
    expected = tool_files(CATALOG)["servers/github.d.ts"]
    assert full.splitlines()[1:] == expected.splitlines()
    partial = index.read_file([e for e in CATALOG if e.ref.tool != "create_issue"], ReadRequest("github"))
    assert "createIssue" not in partial and "CreateIssueInput" not in partial  # neither method nor its types


def test_names_and_signatures_are_one_line_per_method(index: ToolIndex) -> None:
    names = index.read_file(CATALOG, ReadRequest("linear", "names")).splitlines()
    assert names[0] == "// servers/linear.d.ts (names): 2 of 2 methods of `linear`"
    assert names[1:3] == [
        "linear.createIssue — Create a new issue in Linear.",
        "linear.listTeams — List the teams of the workspace.",
    ]
    signatures = index.read_file(CATALOG, ReadRequest("slack", "signatures", ("postMessage",))).splitlines()
    assert signatures[1] == (
        "slack.postMessage(args: { channel: string; text: string }) — Post a message to a Slack channel."
    )
    assert len(signatures) == 3 and 'detail: "full"' in signatures[2]


def test_reading_errors_name_the_problem(index: ToolIndex) -> None:
    with pytest.raises(MetaToolError, match="unknown file 'servers/weather.d.ts'; available: servers/github.d.ts"):
        index.read_file(visible_without("weather"), ReadRequest("servers/weather.d.ts"))
    with pytest.raises(MetaToolError, match="unknown method.s. sendMail; available: listChannels, postMessage"):
        index.read_file(CATALOG, ReadRequest("slack", methods=("sendMail",)))


def test_the_sandbox_globals_are_a_file_too(index: ToolIndex) -> None:
    text = index.read_file([], ReadRequest("globals.d.ts"))
    assert "declare class ToolError extends Error" in text and "declare const console" in text
    assert "declare function setTimeout" in text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("create an issue in Linear", "linear/create_issue"),
        ("post a message to slack", "slack/post_message"),
        ("weather forecast for a city", "weather/get_forecast"),
        ("merge pull requests", "github/merge_pull_request"),
        ("repositories search", "github/search_repositories"),
        ("which teams exist", "linear/list_teams"),
    ],
)
def test_search_ranks_the_right_tool_first(index: ToolIndex, query: str, expected: str) -> None:
    assert str(index.ranked(CATALOG, query, 5)[0].ref) == expected


def test_search_never_finds_what_the_caller_may_not_see(index: ToolIndex) -> None:
    hits = index.ranked(visible_without("linear"), "create an issue in Linear", 5)
    assert hits and all(h.ref.server != "linear" for h in hits)
    assert index.ranked(CATALOG, "the of and", 5) == []
    assert "No tool matches 'zzz'" in index.search(CATALOG, SearchRequest("zzz"))


def test_search_answers_at_each_detail_level(index: ToolIndex) -> None:
    signatures = index.search(CATALOG, SearchRequest("post a slack message", 2)).splitlines()
    assert signatures[0] == "2 best matches for 'post a slack message' (of 12 tools):"
    assert signatures[1].startswith("1. slack.postMessage(args: { channel: string; text: string }) — ")
    names = index.search(CATALOG, SearchRequest("post a slack message", 1, "names"))
    assert names.splitlines()[1] == "1. slack.postMessage — Post a message to a Slack channel."
    full = index.search(CATALOG, SearchRequest("post a slack message", 1, "full"))
    assert "declare const slack: {" in full and "postMessage(args: Slack.PostMessageInput)" in full
    assert "listChannels" not in full.split("declare const", 1)[1]  # only the hit is declared


def test_method_names_follow_the_sandbox_when_only_some_are_shown() -> None:
    clashing = [entry("x", "get-item", schema()), entry("x", "get_item", schema())]
    index = ToolIndex(clashing)
    methods = dict(server_globals({"x": ["get-item", "get_item"]})[0].methods)
    shown = index.read_file(clashing, ReadRequest("x", "names", ("get_item",)))
    (method,) = [m for m, tool in methods.items() if tool == "get_item"]
    assert f"x.{method} — " in shown and method != "getItem"  # the clash suffix, as the sandbox binds it


def test_classic_search_returns_definitions_to_call_by_name(index: ToolIndex) -> None:
    answer = json.loads(index.search_classic(CATALOG, SearchRequest("weather forecast", 1)))
    assert answer == {
        "query": "weather forecast",
        "tools": [
            {
                "name": "weather__get_forecast",
                "description": "Weather forecast for the next days.",
                "inputSchema": schema("city", city=string("City name, e.g. Paris")),
            }
        ],
    }


def test_a_rebuild_after_a_change_ranks_as_a_fresh_build() -> None:
    """An index built from the one before a change keeps the unchanged servers' rows: it must find the
    changed tool and no longer find the one that went."""
    replaced = [e for e in CATALOG if e.ref.server != "weather"]
    replaced.append(entry("weather", "get_tide_tables", schema("port", port=string("Harbour")), None, "Tide times."))
    before = ToolIndex(CATALOG)
    rebuilt, fresh = ToolIndex(replaced, before), ToolIndex(replaced)
    for query in ("tide times at the harbour", "weather forecast", "merge pull requests", "post a message"):
        assert rebuilt.ranked(replaced, query, 5) == fresh.ranked(replaced, query, 5), query
    assert str(rebuilt.ranked(replaced, "tide times", 1)[0].ref) == "weather/get_tide_tables"
    assert all(str(h.ref) != "weather/get_forecast" for h in rebuilt.ranked(replaced, "forecast next days", 5))


def catalog_of(servers: dict[str, int], generation: dict[str, int]) -> dict[str, tuple[CatalogEntry, ...]]:
    """Servers in order with their tools (as `Catalog.by_server()` gives them): look-alike tools, so that
    many rank equal and the order of ties shows."""
    verbs = ("list", "get", "create", "delete")
    return {
        server: tuple(
            entry(
                server,
                f"{verbs[i % 4]}_item{i}",
                schema("id", id=string("The item ID.")),
                None,
                f"{verbs[i % 4].capitalize()} item {i % 3} (generation {generation.get(server, 0)}).",
            )
            for i in range(count)
        )
        for server, count in servers.items()
    }


def test_an_incremental_update_ranks_every_match_as_a_full_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changes made one after another (a server's tools replaced, a server added between two, one removed,
    the first and last changed) give, for every query, all matches in the order a build from scratch gives,
    ties included; and only the changed servers' documents are worked out again."""
    from mcp_guard.codemode import discovery

    worked: list[str] = []
    document = discovery._document
    monkeypatch.setattr(discovery, "_document", lambda e: worked.append(e.ref.server) or document(e))
    counts = {f"srv{n:02d}": 12 + n for n in range(0, 20, 2)}
    generation: dict[str, int] = {}
    servers = catalog_of(counts, generation)
    index = ToolIndex(servers)
    steps = [
        ("srv06", 30),  # one server's tools replaced, more of them
        ("srv06", 5),  # ... fewer
        ("srv07", 9),  # a server between two
        ("srv00", 40),  # the first
        ("srv18", 1),  # the last
        ("srv10", 0),  # removed
        ("srv99", 7),  # a server after the last
    ]
    for server, count in steps:
        generation[server] = generation.get(server, 0) + 1
        changed = catalog_of({server: count}, generation)[server]
        names = sorted({*servers, server} if count else set(servers) - {server})
        servers = {s: changed if s == server else servers[s] for s in names}
        worked.clear()
        index = ToolIndex(servers, index)
        assert set(worked) <= {server} and len(worked) == count, server
        fresh = ToolIndex(servers)
        everything = [e for group in servers.values() for e in group]
        for query in ("get item", "item 1", "create items generation 2", "delete item0", "list", "id", "nothing"):
            assert index.ranked(everything, query, 10_000) == fresh.ranked(everything, query, 10_000), (server, query)
            request = SearchRequest(query, 7)
            assert index.search(everything, request) == fresh.search(everything, request)


def test_no_room_between_two_servers_falls_back_to_a_full_build() -> None:
    """Servers added again and again at the same place use up the room between their neighbours' rows:
    then the index is built whole, and ranks as before."""
    servers = catalog_of({"a": 3, "z": 3}, {})
    index = ToolIndex(servers)
    name = "a"
    for _ in range(20):  # each new server halves the room left after "a"
        name += "a"
        servers = {**catalog_of({name: 2}, {}), **servers}
        servers = {s: servers[s] for s in sorted(servers)}
        index = ToolIndex(servers, index)
    everything = [e for group in servers.values() for e in group]
    fresh = ToolIndex(servers)
    assert index.ranked(everything, "get item", 100) == fresh.ranked(everything, "get item", 100)
