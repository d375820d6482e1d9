"""Every store that takes a storage URL opens the same three kinds and refuses the rest naming its setting."""

from __future__ import annotations

import pytest

from mcp_guard.auth.store import MemoryKeyStore, SqliteKeyStore, open_key_store
from mcp_guard.credentials.store import MemoryCredentialStore, SqliteCredentialStore, open_credential_store
from mcp_guard.errors import ConfigError
from mcp_guard.servers.store import MemoryServerStore, SqliteServerStore, open_server_store

OPENERS = [
    (open_key_store, "auth.store", MemoryKeyStore, SqliteKeyStore),
    (open_server_store, "servers_store", MemoryServerStore, SqliteServerStore),
    (open_credential_store, "credentials.store", MemoryCredentialStore, SqliteCredentialStore),
]


@pytest.mark.parametrize(("opener", "setting", "memory", "sqlite"), OPENERS)
def test_opens_memory_and_sqlite(opener, setting, memory, sqlite, tmp_path) -> None:
    assert type(opener("memory://")) is memory
    store = opener(f"sqlite:///{tmp_path}/x.db")
    assert type(store) is sqlite
    assert (tmp_path / "x.db").exists()


@pytest.mark.parametrize(("opener", "setting", "memory", "sqlite"), OPENERS)
def test_refuses_other_urls_naming_the_setting_without_the_password(opener, setting, memory, sqlite) -> None:
    with pytest.raises(ConfigError) as refused:
        opener("mysql://admin:s3cret@db:3306/keys")
    message = str(refused.value)
    assert message.startswith(f"{setting}: unsupported store 'mysql://db:3306/keys'")
    assert "s3cret" not in message


@pytest.mark.parametrize(("opener", "setting", "memory", "sqlite"), OPENERS)
def test_a_malformed_postgres_url_names_the_setting(opener, setting, memory, sqlite) -> None:
    with pytest.raises(ConfigError, match=f"^{setting}: "):
        opener("postgresql://127.0.0.1:5432/test?schema=bad-name;drop")
