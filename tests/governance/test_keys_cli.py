"""`mcp-guard keys create` prints a working key once and the config entry that accepts it."""

import subprocess
import sys

import yaml

from mcp_guard.auth.keys import hash_key
from mcp_guard.auth.resolver import KeyResolver
from mcp_guard.auth.store import MemoryKeyStore
from mcp_guard.config import parse_config


def test_keys_create_prints_key_and_pasteable_entry():
    argv = [sys.executable, "-m", "mcp_guard.cli", "keys", "create", "marketing-bot", "--roles", "marketing"]
    done = subprocess.run([*argv, "--team", "mkt"], capture_output=True, text=True, timeout=60, check=True)
    first, _, rest = done.stdout.partition("\n")
    key = first.rsplit(" ", 1)[-1]
    assert key.startswith("mcpg_")
    entry = yaml.safe_load(rest.split("add under `keys:` in the configuration:", 1)[1])
    assert entry == [{"name": "marketing-bot", "hash": hash_key(key), "roles": ["marketing"], "team": "mkt"}]
    config = parse_config(
        {
            "roles": {"marketing": {"tools": ["web-search/*"]}},
            "teams": {"mkt": {}},
            "keys": entry,
            "auth": {"store": "memory://"},
        }
    )
    assert KeyResolver(config, MemoryKeyStore()).authenticate(key).principal.key_name == "marketing-bot"
