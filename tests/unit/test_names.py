import re

import pytest

from mcp_guard.names import (
    MAX_EXPOSED_LENGTH,
    NameTable,
    PromptRef,
    ResourceRef,
    ToolRef,
    described,
    exposed_name,
    gateway_uri,
    item_name,
    prefixed_readings,
    prompt_ref,
    resource_ref,
)

VALID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # OpenAI function names; also valid for SEP-986


def test_simple_reference_keeps_readable_name():
    assert exposed_name(ToolRef("filesystem", "read_file")) == "filesystem__read_file"


@pytest.mark.parametrize(
    "tool",
    ["get.weather", "x" * 200, "näme", "a b/c", "tool:with:colons", "-", "a" * 57],
)
def test_awkward_names_become_valid_and_deterministic(tool):
    ref = ToolRef("srv", tool)
    name = exposed_name(ref)
    assert VALID.match(name), name
    assert len(name) <= MAX_EXPOSED_LENGTH
    assert exposed_name(ToolRef("srv", tool)) == name  # deterministic


def test_long_names_sharing_a_prefix_stay_distinct():
    a, b = ToolRef("srv", "x" * 100 + "a"), ToolRef("srv", "x" * 100 + "b")
    assert exposed_name(a) != exposed_name(b)


def test_table_round_trips_and_resolves_clashes():
    clash_a, clash_b = ToolRef("a__b", "c"), ToolRef("a", "b__c")  # both would be a__b__c
    dotted, plain = ToolRef("s", "x.y"), ToolRef("s", "x_y")  # both sanitise to s__x_y
    table = NameTable([clash_a, clash_b, dotted, plain, ToolRef("s", "ok")])
    names = {ref: table.name_of(ref) for ref in (clash_a, clash_b, dotted, plain)}
    assert len(set(names.values())) == 4
    for ref, name in names.items():
        assert VALID.match(name)
        assert table.ref_of(name) == ref
    assert table.name_of(ToolRef("s", "ok")) == "s__ok"
    assert table.ref_of("s/ok") == ToolRef("s", "ok")  # the reference form resolves too
    assert table.ref_of("s/missing") is None
    assert table.ref_of("nope") is None


def test_parse_reference():
    assert ToolRef.parse("github/repos/list") == ToolRef("github", "repos/list")
    with pytest.raises(ValueError, match="server/tool"):
        ToolRef.parse("no-slash")


BIFROST = NameTable(
    [
        ToolRef("filesystem", "read_file"),
        ToolRef("web", "search-news"),
        ToolRef("web-search", "news"),
        ToolRef("a", "b"),
    ]
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("filesystem-read_file", ToolRef("filesystem", "read_file")),  # Bifrost today
        ("filesystem_read_file", ToolRef("filesystem", "read_file")),  # older Bifrost
        ("web-search-news", None),  # web/search-news or web-search/news: ambiguous, never guessed
        ("web_search-news", ToolRef("web", "search-news")),
        ("a-b", ToolRef("a", "b")),
        ("filesystem-write_file", None),  # no such tool
        ("/x", None),  # malformed reference: not found, not a crash
        ("x/", None),
    ],
)
def test_bifrost_names_resolve_only_when_one_tool_reads_that_way(name, expected):
    assert BIFROST.ref_of(name) == expected


def test_an_ambiguous_bifrost_name_lists_its_readings():
    assert set(BIFROST.bifrost_readings("web-search-news")) == {
        ToolRef("web", "search-news"),
        ToolRef("web-search", "news"),
    }
    assert prefixed_readings("web-search-*", ["web", "web-search", "webs"]) == [
        ("web", "search-*"),
        ("web-search", "*"),
    ]


# -- resources and prompts


@pytest.mark.parametrize(
    "uri",
    ["file:///srv/docs/a.md", "demo://resource/dynamic/text/{resourceId}", "https://x.test/a?b=c#d", "x", "a/b//c"],
)
def test_gateway_uris_map_back_to_server_and_original_uri(uri):
    shown = gateway_uri("docs_1", uri)
    assert shown.startswith("mcp-guard://docs_1/")
    assert resource_ref(shown) == ResourceRef("docs_1", uri)


def test_two_servers_never_share_a_gateway_uri():
    assert gateway_uri("a", "x://same") != gateway_uri("b", "x://same")
    assert gateway_uri("a", "b/x") != gateway_uri("a-b", "x")  # a server name never holds '/'


@pytest.mark.parametrize(
    "text", ["file:///x", "mcp-guard://", "mcp-guard://docs", "mcp-guard://docs/", "mcp-guard:///x", "mcp-guard://-a/x"]
)
def test_what_is_not_a_gateway_uri(text):
    assert resource_ref(text) is None


def test_prompt_names_map_back_to_their_server():
    servers = {"git", "a", "a_", "b_"}
    assert prompt_ref(item_name("git", "review__pr"), servers) == PromptRef("git", "review__pr")
    assert prompt_ref("git/review", servers) == PromptRef("git", "review")
    assert prompt_ref(item_name("b_", "p"), servers) == PromptRef("b_", "p")  # `b___p`: only `b_` is a server
    assert prompt_ref("a___p", servers) is None  # `a` + `_p` or `a_` + `p`: ambiguous, so neither
    for unknown in ("review", "nowhere__review", "git__", "__review", "nowhere/review"):
        assert prompt_ref(unknown, servers) is None


def test_references_say_their_kind():
    assert (ToolRef("a", "b").kind, ResourceRef("a", "u").kind, PromptRef("a", "p").kind) == (
        "tool",
        "resource",
        "prompt",
    )
    assert str(ResourceRef("docs", "file:///x")) == "resource:docs/file:///x"
    assert described(PromptRef("git", "review")) == "Prompt 'review' of server 'git'"
    assert ToolRef("a", "b") != PromptRef("a", "b") and hash(ToolRef("a", "b")) == hash(PromptRef("a", "b"))
