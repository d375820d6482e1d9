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


def test_keys_create_exports_the_key_and_its_hash_for_a_shell():
    argv = [
        sys.executable,
        "-m",
        "mcp_guard.cli",
        "keys",
        "create",
        "admin",
        "--roles",
        "admin",
        "--export",
        "MCPG_ADMIN",
    ]
    script = f'eval "$({" ".join(argv)})"; echo "$MCPG_ADMIN_KEY $MCPG_ADMIN_KEY_HASH"'
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=True)
    key, key_hash = done.stdout.split()
    assert key.startswith("mcpg_") and key_hash == hash_key(key)
    refused = subprocess.run([*argv[:-1], "NOT-A-NAME"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "not an environment variable name" in refused.stderr
