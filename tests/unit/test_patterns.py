import pytest

from mcp_guard.names import ToolRef
from mcp_guard.patterns import PatternSet, ToolPattern

READ = ToolRef("filesystem", "read_file")
WRITE = ToolRef("filesystem", "write_file")
QUERY = ToolRef("database", "query")


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("*", {READ, WRITE, QUERY}),
        ("filesystem/*", {READ, WRITE}),
        ("filesystem", {READ, WRITE}),
        ("filesystem/read_file", {READ}),
        ("*/query", {QUERY}),
        ("filesystem/*_file", {READ, WRITE}),
        ("files/*", set()),
    ],
)
def test_pattern_matching(pattern, matches):
    compiled = ToolPattern.parse(pattern)
    assert {ref for ref in (READ, WRITE, QUERY) if compiled.matches(ref)} == matches


def test_empty_set_matches_nothing():
    assert not PatternSet().matches(READ)
    assert PatternSet(["database/*", "filesystem/read_file"]).matches(READ)


@pytest.mark.parametrize("bad", ["", "  ", "server/", "/tool"])
def test_bad_patterns_are_refused(bad):
    with pytest.raises(ValueError):
        ToolPattern.parse(bad)


def test_a_pattern_matches_only_its_own_kind():
    from mcp_guard.names import PromptRef, ResourceRef

    readme = ResourceRef("docs", "file:///public/readme.md")
    secret = ResourceRef("docs", "file:///private/keys")
    review = PromptRef("git", "review")
    everything = PatternSet(["*"])
    assert everything.matches(READ) and not everything.matches(readme) and not everything.matches(review)
    assert PatternSet(["resource:*"]).matches(readme) and not PatternSet(["resource:*"]).matches(READ)
    public = ToolPattern.parse("resource:docs/file:///public/*")
    assert (public.kind, public.matches(readme), public.matches(secret)) == ("resource", True, False)
    assert ToolPattern.parse("prompt:git").matches(review) and not ToolPattern.parse("prompt:git").matches(READ)
    assert ToolPattern.parse("docs/file:///public/*", "resource").matches(readme)  # a header entry, kind given
    with pytest.raises(ValueError, match="resource pattern"):
        ToolPattern.parse("resource:docs/")
    with pytest.raises(ValueError, match="empty prompt pattern"):
        ToolPattern.parse("prompt:")
