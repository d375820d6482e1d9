"""Open the store a storage URL names: `memory://`, `sqlite:///relative/path` (`sqlite:////absolute`) or
`postgresql://user@host/db?schema=NAME`. The key store, the runtime servers' store and the upstream
credentials' store take the same three URLs and refuse anything else with the same words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

from .errors import ConfigError
from .postgres import EXTRA_HINT, is_postgres_url
from .storage_url import shown_url

S = TypeVar("S")
StoreKind = Literal["memory", "sqlite", "postgresql"]


def open_store(uri: str, setting: str, build: Callable[[StoreKind, str], S]) -> S:
    """The store `uri` names: `build(kind, where)`, where `where` is the SQLite file's path or the whole
    PostgreSQL URL. `ConfigError` naming `setting` for an unsupported URL, a PostgreSQL URL without the
    `postgres` extra installed, or a malformed one (a `ValueError` of `build`)."""
    if uri == "memory://":
        return build("memory", uri)
    if uri.startswith("sqlite:///"):
        return build("sqlite", uri.removeprefix("sqlite:///"))
    if is_postgres_url(uri):
        try:
            return build("postgresql", uri)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"{setting}: {shown_url(uri)!r} needs the module {exc.name!r}: {EXTRA_HINT}") from None
        except ValueError as exc:
            raise ConfigError(f"{setting}: {exc}") from None
    raise ConfigError(
        f"{setting}: unsupported store {shown_url(uri)!r}; "
        "use 'memory://', 'sqlite:///path' or 'postgresql://user@host/db'"
    )
