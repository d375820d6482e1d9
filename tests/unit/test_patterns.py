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
