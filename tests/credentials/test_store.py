"""The credential stores (memory, SQLite, PostgreSQL) keep what the vault sealed, one row per (server, user),
and the vault opens only what its own key (or a rotated-out one still listed) sealed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from mcp_guard.credentials.config import CredentialSettings
from mcp_guard.credentials.store import CredentialStore, PostgresCredentialStore, credential, open_credential_store
from mcp_guard.credentials.vault import Vault
from mcp_guard.errors import ConfigError
from tests.scaleout.services import POSTGRES_URL, drop_schema, require, unique

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CredentialStore]:
    if request.param == "memory":
        yield open_credential_store("memory://")
    elif request.param == "sqlite":
        yield open_credential_store(f"sqlite:///{tmp_path / 'credentials.db'}")
    else:
        require(POSTGRES_URL)
        schema = unique("credentials")
        opened = open_credential_store(f"{POSTGRES_URL}?schema={schema}")
        assert isinstance(opened, PostgresCredentialStore)
        try:
            yield opened
        finally:
            await opened.close()
            drop_schema(schema)


async def test_one_row_per_server_and_user(store: CredentialStore) -> None:
    assert await store.get("github", "alice") is None
    await store.put(credential("github", "alice", "sealed-1", "alice"))
    await store.put(credential("github", "bob", "sealed-2", "ops"))
    await store.put(credential("jira", "alice", "sealed-3", "alice"))
    await store.put(credential("github", "alice", "sealed-4", "ops"))  # replaces
    found = await store.get("github", "alice")
    assert found is not None and (found.sealed, found.updated_by) == ("sealed-4", "ops")
    assert [c.user for c in await store.list("github")] == ["alice", "bob"]
    assert await store.delete("github", "alice") is True
    assert await store.delete("github", "alice") is False
    assert await store.get("github", "alice") is None
    assert [c.user for c in await store.list("jira")] == ["alice"]


def test_the_vault_opens_what_its_keys_sealed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("OLD_ONLY", old)
    sealed_with_old = Vault.from_settings(CredentialSettings(key_env="OLD_ONLY")).seal("gh-token")
    assert "gh-token" not in sealed_with_old
    key_file = tmp_path / "keys"
    key_file.write_text(f"{new}\n{old}\n")  # rotated: the new key first, the old one still opens
    rotated = Vault.from_settings(CredentialSettings(key_file=str(key_file)))
    assert rotated.open(sealed_with_old) == "gh-token"
    monkeypatch.setenv("NEW_ONLY", new)
    with pytest.raises(ValueError, match="cannot be decrypted"):
        Vault.from_settings(CredentialSettings(key_env="NEW_ONLY")).open(sealed_with_old)
    monkeypatch.setenv("NOT_A_KEY", "hunter2")
    with pytest.raises(ConfigError, match="Fernet key"):
        Vault.from_settings(CredentialSettings(key_env="NOT_A_KEY"))
    with pytest.raises(ConfigError, match="UNSET_KEY is not set"):
        Vault.from_settings(CredentialSettings(key_env="UNSET_KEY"))


async def test_a_reload_that_adds_a_per_user_server_without_a_key_is_refused(tmp_path: Path) -> None:
    from mcp_guard import Gateway

    path = tmp_path / "gateway.yaml"
    path.write_text("servers: []\n")
    gateway = Gateway.from_yaml(path)
    path.write_text(
        "servers:\n  - {name: gh, transport: http, url: 'http://127.0.0.1:9/mcp', credentials: {mode: stored}}\n"
    )
    with pytest.raises(ConfigError, match="key_file or key_env"):
        await gateway.reload()
    assert gateway.config.servers == []
