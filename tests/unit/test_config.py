import pytest

from mcp_guard.config import load_config, parse_config
from mcp_guard.errors import ConfigError


def write(tmp_path, text):
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    return path


def test_servers_by_name_and_env_interpolation(tmp_path):
    path = write(
        tmp_path,
        """
servers:
  search:
    transport: http
    url: http://127.0.0.1:9000/mcp
    headers: {Authorization: "Bearer ${SEARCH_TOKEN}"}
    tools: [web_search]
  files:
    transport: stdio
    command: npx
    args: [server, "${ROOT:-/srv}"]
""",
    )
    config = load_config(path, environ={"SEARCH_TOKEN": "s3cret"})
    search = config.server("search")
    assert search.headers == {"Authorization": "Bearer s3cret"}
    assert search.tools == ["web_search"]
    assert config.server("files").args == ["server", "/srv"]
    assert search.call_timeout == 30 and search.health_interval == 10


def test_error_names_file_field_and_expectation(tmp_path):
    path = write(tmp_path, "servers:\n  files:\n    transport: stdio\n    comand: npx\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert str(path) in text
    assert "servers.files.comand: Extra inputs are not permitted" in text


def test_transport_needs_its_settings(tmp_path):
    with pytest.raises(ConfigError, match=r"servers\.files: Value error, transport 'stdio' needs 'command'"):
        load_config(write(tmp_path, "servers:\n  files:\n    transport: stdio\n"))


def test_missing_environment_variable(tmp_path):
    path = write(tmp_path, "servers:\n  s:\n    transport: http\n    url: ${NOPE_URL}\n")
    with pytest.raises(ConfigError, match=r"servers\.s\.url: environment variable 'NOPE_URL' is not set"):
        load_config(path, environ={})


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"servers": [{"name": "bad name", "transport": "stdio", "command": "x"}]}, "servers.bad name.name"),
        ({"servers": {"a": {"transport": "carrier-pigeon", "url": "x"}}}, "servers.a.transport"),
        ({"servers": {"a": {"transport": "http", "url": "x", "call_timeout": 0}}}, "servers.a.call_timeout"),
        ({"blocked_tools": ["server/"]}, "blocked_tools"),
        ({"servers": [{"name": "a", "transport": "http", "url": "x"}] * 2}, "used twice"),
    ],
)
def test_invalid_documents(doc, message):
    with pytest.raises(ConfigError, match="invalid configuration") as info:
        parse_config(doc, source="test.yaml")
    assert message in str(info.value)


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "servers: [unclosed"))


def test_roles_grant_resources_and_prompts_by_pattern():
    config = parse_config(
        {"roles": {"docs": {"resources": ["docs/file:///public/*"], "prompts": ["git/*"], "tools": ["docs/*"]}}}
    )
    assert config.roles["docs"].grants() == ["docs/*", "resource:docs/file:///public/*", "prompt:git/*"]
    with pytest.raises(ConfigError, match=r"roles\.docs\.resources: Value error, resource pattern 'docs/'"):
        parse_config({"roles": {"docs": {"resources": ["docs/"]}}})
    with pytest.raises(ConfigError, match=r"teams\.t\.deny: Value error, prompt pattern 'prompt:/x'"):
        parse_config({"teams": {"t": {"deny": ["prompt:/x"]}}})
