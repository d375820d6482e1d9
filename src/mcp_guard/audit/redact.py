"""Redaction: secret argument values never reach the audit store.

A key matches by its whole name, case-insensitively (`Password`, `API_KEY`), at any depth of nested
objects and arrays, and its value, whatever its type, becomes `"[redacted]"`. Error messages can echo an
argument (a schema error quoting the bad value), so a redacted string of useful length is also masked
wherever it appears in the record's `error`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from .record import AuditRecord

REDACTED = "[redacted]"
_MIN_MASKED_LENGTH = 4  # shorter values would mask ordinary words in error messages


class Redactor:
    """Replaces the values of the configured argument keys; build once, call per record."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = frozenset(key.casefold() for key in keys)

    def __call__(self, record: AuditRecord) -> AuditRecord:
        """A copy of `record` with secret arguments (and their echoes in `error`) redacted; `record` itself when
        no argument is secret (the usual call: a copy costs ~5 µs per record)."""
        if not self._mentions_secret(record.arguments):
            return record
        secrets: list[str] = []
        arguments = self._redact(record.arguments, secrets)
        error = record.error
        for secret in secrets:
            if error and len(secret) >= _MIN_MASKED_LENGTH:
                error = error.replace(secret, REDACTED)
        return dataclasses.replace(record, arguments=arguments, error=error)

    def _redact(self, value: Any, secrets: list[str]) -> Any:
        if isinstance(value, dict):
            return {key: self._value(key, item, secrets) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._redact(item, secrets) for item in value]
        return value

    def _mentions_secret(self, value: Any) -> bool:
        """Whether `_redact` would replace anything in `value` (a configured key at any depth)."""
        if isinstance(value, dict):
            return any(
                (isinstance(key, str) and key.casefold() in self._keys) or self._mentions_secret(item)
                for key, item in value.items()
            )
        if isinstance(value, list | tuple):
            return any(self._mentions_secret(item) for item in value)
        return False

    def _value(self, key: Any, value: Any, secrets: list[str]) -> Any:
        if not (isinstance(key, str) and key.casefold() in self._keys):
            return self._redact(value, secrets)
        secrets.extend(_strings(value))
        return REDACTED


def _strings(value: Any) -> list[str]:
    """Every string inside a redacted value, so echoes of it can be masked too."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []
