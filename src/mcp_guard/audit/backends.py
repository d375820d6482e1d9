"""Storage chosen by URI: an explicit scheme → class map, importing only the chosen backend.

A new backend is one module with a class that has `from_uri(uri, *, create)` and implements
`AuditStore`, plus one line in `BACKENDS` (as `postgresql` below). Nothing registers itself on import, and
no other backend module changes; a backend whose driver is missing names the extra that installs it.
File URIs follow the SQLAlchemy convention: `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`
(likewise `jsonl:`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..storage_url import shown_url
from .store import AuditStore


@dataclass(frozen=True, slots=True)
class Backend:
    """Where a store class lives (`module:Class`) and the package extra that brings its driver."""

    target: str
    extra: str | None = None


BACKENDS: dict[str, Backend] = {
    "sqlite": Backend("mcp_guard.audit.sqlite_store:SQLiteStore"),
    "jsonl": Backend("mcp_guard.audit.jsonl_store:JSONLStore"),
    "memory": Backend("mcp_guard.audit.memory_store:MemoryStore"),
    "postgresql": Backend("mcp_guard.audit.postgres_store:PostgresStore", extra="postgres"),
    "postgres": Backend("mcp_guard.audit.postgres_store:PostgresStore", extra="postgres"),
}


def backend_for(uri: str) -> Backend:
    """The backend of `uri`'s scheme; `ValueError` naming the URI and the known schemes otherwise."""
    backend = BACKENDS.get(urlsplit(uri).scheme)
    if backend is None:
        raise ValueError(f"audit sink {shown_url(uri)!r} has an unknown scheme; known: {sorted(BACKENDS)!r}")
    return backend


def open_store(uri: str, *, create: bool = True) -> AuditStore:
    """Build the store for `uri`; with `create=False` a missing file is an error, not a new log.

    Nothing is opened yet: file stores connect on first use, so a sink that cannot be opened surfaces as a
    write error the log retries, not as a failure at start-up.
    """
    try:
        backend = backend_for(uri)
        module_name, _, class_name = backend.target.partition(":")
        module = importlib.import_module(module_name)
        return cast(AuditStore, getattr(module, class_name).from_uri(uri, create=create))
    except ModuleNotFoundError as exc:
        hint = f"install mcp-guard[{backend.extra}]" if backend.extra else "check the installation"
        raise ConfigError(f"audit sink {shown_url(uri)!r} needs the module {exc.name!r}: {hint}") from exc
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def file_path(uri: str) -> str:
    """The path of a `scheme:///path` URI: relative after three slashes, absolute after four."""
    parts = urlsplit(uri)
    prefix = f"{parts.scheme}:///"
    if not uri.startswith(prefix) or len(uri) == len(prefix):
        raise ValueError(f"audit sink {uri!r} must look like '{parts.scheme}:///relative/path' or '{prefix}/abs/path'")
    return uri[len(prefix) :]
