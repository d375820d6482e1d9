"""`AuditSettings` and choosing the store by URI."""

import pytest
from pydantic import ValidationError

from mcp_guard.audit import AuditLog, AuditSettings
from mcp_guard.audit.backends import BACKENDS, Backend, file_path, open_store
from mcp_guard.audit.config import CheckpointSettings
from mcp_guard.audit.jsonl_store import JSONLStore
from mcp_guard.audit.memory_store import MemoryStore
from mcp_guard.audit.sqlite_store import SQLiteStore
from mcp_guard.errors import ConfigError


def test_defaults_are_safe():
    settings = AuditSettings()
    assert settings.sink == "sqlite:///mcp-guard-audit.db"
    assert {"password", "token", "secret", "api_key", "apikey", "authorization"} <= set(settings.redact)
    assert settings.retention_days is None
    assert settings.durability == "commit" and settings.synchronous  # an answered call has a committed record
    assert (settings.queue_size, settings.batch_size, settings.flush_interval) == (10_000, 500, 0.2)


@pytest.mark.parametrize(
    ("fields", "durability"), [({"synchronous": True}, "commit"), ({"synchronous": False}, "queued")]
)
def test_synchronous_is_the_older_spelling_of_durability(fields, durability):
    assert AuditSettings(**fields).durability == durability


def test_synchronous_and_durability_must_agree():
    with pytest.raises(ValidationError, match="contradicts durability"):
        AuditSettings(synchronous=False, durability="commit")


def test_every_field_is_described():
    assert all(field.description for field in AuditSettings.model_fields.values())
    assert all(field.description for field in CheckpointSettings.model_fields.values())


def test_checkpoints_are_off_by_default_and_have_sane_defaults():
    assert AuditSettings().checkpoints is None
    settings = AuditSettings(checkpoints={"key_env": "MCPG_CHECKPOINT_KEY"})
    assert (settings.checkpoints.every_records, settings.checkpoints.every_seconds) == (1000, 60.0)
    assert settings.checkpoints.copy_to is None and settings.checkpoints.webhook is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "exactly one of key_file and key_env"),
        ({"key_file": "/k.pem", "key_env": "K"}, "exactly one of key_file and key_env"),
        ({"key_env": "K", "every_records": 0}, "every_records"),
        ({"key_env": "K", "every_seconds": 0}, "every_seconds"),
        ({"key_env": "K", "webhook": "ftp://collector/x"}, "'ftp://collector/x' must be an http"),
        ({"key_env": "K", "key": "inline-secret"}, "key"),  # no inline key: not a field at all
    ],
)
def test_invalid_checkpoint_settings_name_the_problem(fields, message):
    with pytest.raises(ValidationError, match=message):
        AuditSettings(checkpoints=fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sinc": "memory://"}, "sinc"),
        ({"sink": "redis://localhost"}, "'redis://localhost' has an unknown scheme"),
        ({"sink": "sqlite://relative.db"}, "must look like"),
        ({"queue_size": 0}, "queue_size"),
        ({"retention_days": 0}, "retention_days"),
        ({"flush_interval": -1}, "flush_interval"),
        ({"durability": "eventually"}, "durability"),
        ({"synchronous": "yes"}, "synchronous must be true or false"),
    ],
)
def test_invalid_settings_name_the_field_or_value(fields, message):
    with pytest.raises(ValidationError, match=message):
        AuditSettings(**fields)


def test_settings_are_frozen():
    with pytest.raises(ValidationError):
        AuditSettings().sink = "memory://"


@pytest.mark.parametrize(
    ("uri", "kind", "path"),
    [
        ("sqlite:///audit.db", SQLiteStore, "audit.db"),
        ("sqlite:///logs/audit.db", SQLiteStore, "logs/audit.db"),
        ("sqlite:////var/lib/audit.db", SQLiteStore, "/var/lib/audit.db"),
        ("jsonl:////var/log/audit.jsonl", JSONLStore, "/var/log/audit.jsonl"),
    ],
)
def test_file_uris_follow_the_sqlalchemy_convention(uri, kind, path):
    store = open_store(uri)
    assert isinstance(store, kind) and store.path == path == file_path(uri)


def test_memory_uri_gives_a_fresh_store_each_time():
    first, second = open_store("memory://"), open_store("memory://")
    assert isinstance(first, MemoryStore) and first is not second


def test_from_settings_builds_the_store_of_the_uri(tmp_path):
    log = AuditLog.from_settings(AuditSettings(sink=f"sqlite:///{tmp_path}/a.db"))
    assert isinstance(log.store, SQLiteStore) and log.name == f"sqlite:///{tmp_path}/a.db"
    assert not (tmp_path / "a.db").exists()  # opened by the writer, not at configuration time


def test_a_backend_whose_driver_is_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(BACKENDS, "postgresql", Backend("mcp_guard_no_such_driver:Store", extra="postgres"))
    with pytest.raises(ConfigError, match=r"'mcp_guard_no_such_driver'.*mcp-guard\[postgres\]"):
        open_store("postgresql://db/audit")
