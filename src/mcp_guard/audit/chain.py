"""The hash chain: the one place that decides what a stored record is and how it is hashed.

Every stored record carries `seq` (1, 2, 3, …), the previous record's hash and its own:

    hash = sha256(prev_hash + canonical_json(record, seq))

The first record links to `GENESIS`. After a retention purge the chain starts from an *anchor*, the
`Link` (seq and hash) of the last purged record, so what remains still verifies from its first record.

`normalized` turns a record into exactly what every store gives back (JSON types, floats as floats,
no unencodable strings), so a record hashed before writing hashes the same after reading.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .record import ADDED_FIELDS, AuditRecord

GENESIS_HASH = "0" * 64
RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(AuditRecord))
_FLOAT_FIELDS = ("time", "cost", "duration_ms")
# What `json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)` gives, without building an
# encoder per record
_canonical_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode


@dataclass(frozen=True, slots=True)
class Link:
    """A position in the chain: a record's `seq` and `hash` (or an anchor's)."""

    seq: int
    hash: str


GENESIS = Link(0, GENESIS_HASH)


class CorruptRecord(ValueError):
    """A stored record cannot be read back at all (unparseable line, missing or mistyped field)."""


@dataclass(frozen=True, slots=True)
class SealedRecord:
    """An audit record with its place in the chain: the one type every store writes and returns."""

    seq: int
    prev_hash: str
    hash: str
    record: AuditRecord

    @property
    def link(self) -> Link:
        return Link(self.seq, self.hash)

    def as_dict(self) -> dict[str, Any]:
        """The record's fields plus `seq`, `prev_hash` and `hash`, flat (JSON lines, query results)."""
        data = self.record.as_dict()
        data["roles"] = list(self.record.roles)
        data.update(seq=self.seq, prev_hash=self.prev_hash, hash=self.hash)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SealedRecord:
        """Rebuild from `as_dict` output; `CorruptRecord` names the seq when something is missing."""
        try:
            fields = {name: data[name] for name in RECORD_FIELDS if name in data}
            fields["roles"] = tuple(fields.get("roles", ()))
            record = AuditRecord(**fields)
            return cls(int(data["seq"]), str(data["prev_hash"]), str(data["hash"]), record)
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptRecord(f"unreadable record (seq {data.get('seq')!r}): {exc}") from exc


def canonical_json(record: AuditRecord, seq: int) -> str:
    """Sorted keys, no whitespace, ASCII only: the same text for the same record on every machine. A field
    added later (`ADDED_FIELDS`) is left out while it holds its default, so older records keep their hash."""
    data = record.as_dict()
    for name, default in ADDED_FIELDS.items():
        if data[name] == default:
            del data[name]
    data["seq"] = seq
    return _canonical_encode(data)


def link_hash(prev_hash: str, record: AuditRecord, seq: int) -> str:
    """The hash a record must carry at position `seq` after `prev_hash`."""
    return hashlib.sha256((prev_hash + canonical_json(record, seq)).encode("ascii")).hexdigest()


def is_intact(row: SealedRecord) -> bool:
    """True when the row's stored hash matches its own contents, seq and prev_hash."""
    return link_hash(row.prev_hash, row.record, row.seq) == row.hash


def seal(head: Link, records: Iterable[AuditRecord]) -> list[SealedRecord]:
    """Chain `records` after `head`, in order."""
    sealed: list[SealedRecord] = []
    for record in records:
        seq = head.seq + 1
        row = SealedRecord(seq, head.hash, link_hash(head.hash, record, seq), record)
        sealed.append(row)
        head = row.link
    return sealed


def normalized(record: AuditRecord) -> AuditRecord:
    """The record as storage returns it, so hashing before and after a round trip agrees.

    Values that are not JSON (bytes, objects) become their `str`; lone surrogates, which SQLite and UTF-8
    files cannot hold, become `?`; integer times and costs become floats (SQLite REAL reads back 1.0).
    """
    if _round_trips(record):  # saves a JSON dump and parse per call (17 → 8 µs): the usual record is already so
        if _typed(record):
            return record  # the pipeline's usual record: nothing to change, and a copy costs ~5 µs
        return dataclasses.replace(
            record,
            time=float(record.time),
            cost=float(record.cost),
            duration_ms=float(record.duration_ms),
            roles=tuple(record.roles),
        )
    text = json.dumps(record.as_dict(), default=str, ensure_ascii=False)
    data = json.loads(text.encode("utf-8", "replace").decode("utf-8"))
    for name in _FLOAT_FIELDS:
        data[name] = float(data[name])
    data["roles"] = tuple(str(role) for role in data["roles"])
    return AuditRecord(**data)


def _typed(record: AuditRecord) -> bool:
    """True when the float fields are floats and `roles` a tuple already."""
    return (
        type(record.time) is float
        and type(record.cost) is float
        and type(record.duration_ms) is float
        and type(record.roles) is tuple
    )


def _round_trips(record: AuditRecord) -> bool:
    """True when a JSON round trip would change nothing but the float fields' type."""
    return all(
        _plain(value) if name != "roles" else all(type(role) is str and _plain(role) for role in value)
        for name, value in record.as_dict().items()
    )


def _plain(value: Any) -> bool:
    """JSON values that come back from JSON as they are: no tuples, no non-string keys, no lone surrogates."""
    kind = type(value)
    if kind is str:
        return value.isascii() or _encodable(value)
    if value is None or kind is bool or kind is int or kind is float:
        return True
    if kind is dict:
        return all(type(key) is str and _plain(key) and _plain(item) for key, item in value.items())
    if kind is list:
        return all(_plain(item) for item in value)
    return False


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
