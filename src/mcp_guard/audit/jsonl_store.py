"""`jsonl:///path`: one JSON object per line, appended and never rewritten except by a retention purge.

A line is a record's flat fields plus `seq`, `prev_hash` and `hash` (what log shippers want). After a
purge the first line is `{"anchor": {"seq": N, "hash": "..."}}`. Appends hold an exclusive `flock` on the
file while they read the head and write, so processes sharing the file append in turn; a purge writes a
new file and renames it over the old one, and a writer that locked the old file notices (another inode)
and opens the new one. Readers take no lock and ignore a last line still being written.

Queries and verification read the whole file: right for shipping logs and small deployments; use SQLite
when the log is large and queried often.
"""

from __future__ import annotations

import fcntl
import io
import itertools
import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .backends import file_path
from .chain import GENESIS, CorruptRecord, Link, SealedRecord
from .query import CostUsage, RecordFilter, select, tally
from .store import check_continues, expired_prefix, head_of, in_range, json_object, store_errors

logger = logging.getLogger(__name__)


class JSONLStore:
    """An `AuditStore` in one append-only JSON-lines file (POSIX: uses `flock`)."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = str(path)
        self._create = create

    @classmethod
    def from_uri(cls, uri: str, *, create: bool = True) -> JSONLStore:
        """`jsonl:///relative.jsonl` or `jsonl:////absolute.jsonl`."""
        return cls(file_path(uri), create=create)

    def append_batch(self, records: Sequence[SealedRecord]) -> None:
        if not records:
            return
        data = b"".join(_encode(row.as_dict()) for row in records)
        with self._locked() as file:
            size = self._drop_torn_tail(file)
            check_continues(self.last_link(), records)
            try:
                _write_all(file, data)
                os.fsync(file.fileno())
            except BaseException:
                os.ftruncate(file.fileno(), size)  # half a batch would spoil the next line; the log retries it all
                raise

    def last_link(self) -> Link:
        with self._reading() as file:
            line = _last_line(file, file.seek(0, io.SEEK_END))
        if line is None:
            return GENESIS
        item = _parse(line, f"{self.path}: last line")
        return item if isinstance(item, Link) else head_of(item.link, None)

    def anchor(self) -> Link | None:
        with self._reading() as file:
            first = file.readline()
        item = _parse(first, f"{self.path}:1") if first.endswith(b"\n") else None
        return item if isinstance(item, Link) else None

    def query(self, filters: RecordFilter) -> list[SealedRecord]:
        return select(self.iter_chain(), filters)

    def cost_usage(self, filters: RecordFilter) -> CostUsage:
        return tally(self.iter_chain(), filters)

    def purge_before(self, time: float) -> int:
        with self._locked() as file:
            self._drop_torn_tail(file)
            header = 1 if self.anchor() is not None else 0
            cut, anchor = expired_prefix(self.iter_chain(), time)
            if anchor is not None:
                self._rewrite(anchor, skip_lines=header + cut)
            return cut

    def iter_chain(self, first: int | None = None, last: int | None = None) -> Iterator[SealedRecord]:
        for row in self._lines():
            if in_range(row.seq, first, last):
                yield row

    def _lines(self) -> Iterator[SealedRecord]:
        with self._reading() as file:
            for number, line in enumerate(file, 1):
                if not line.endswith(b"\n"):
                    return  # a write in progress (or one a crash cut short): not part of the chain yet
                item = _parse(line, f"{self.path}:{number}")
                if isinstance(item, SealedRecord):
                    yield item
                elif number != 1:
                    raise CorruptRecord(f"{self.path}:{number}: an anchor line is only valid as the first line")

    def close(self) -> None:
        """Nothing stays open between calls."""

    @contextmanager
    def _reading(self) -> Iterator[IO[bytes]]:
        with store_errors(self.path, OSError):
            try:
                file: IO[bytes] = open(self.path, "rb")  # closed by the `with` below
            except FileNotFoundError:
                if not self._create:
                    raise
                file = io.BytesIO()  # not written yet: an empty chain
            with file:
                yield file

    @contextmanager
    def _locked(self) -> Iterator[io.FileIO]:
        """The file, opened for appending and exclusively locked; reopened if a purge replaced it."""
        with store_errors(self.path, OSError):
            while True:
                with open(self.path, "a+b" if self._create else "r+b", buffering=0) as file:
                    fcntl.flock(file.fileno(), fcntl.LOCK_EX)
                    if _same_file(file, self.path):
                        yield file
                        return

    def _drop_torn_tail(self, file: io.FileIO) -> int:
        """Cut an unterminated last line (a write a crash interrupted) so the next line starts clean."""
        size = file.seek(0, io.SEEK_END)
        with self._reading() as reader:
            reader.seek(max(0, size - 1))
            if size == 0 or reader.read(1) == b"\n":
                return size
            complete = _complete_size(reader, size)
        logger.warning("Audit log %r ends in an unterminated line (%d bytes); removing it", self.path, size - complete)
        os.ftruncate(file.fileno(), complete)
        return complete

    def _rewrite(self, anchor: Link, *, skip_lines: int) -> None:
        """Replace the file by an anchor line and every line after the first `skip_lines`."""
        temporary = f"{self.path}.purge"
        with self._reading() as source, open(temporary, "wb") as target:
            target.write(_encode({"anchor": {"seq": anchor.seq, "hash": anchor.hash}}))
            target.writelines(itertools.islice(source, skip_lines, None))
            target.flush()
            os.fsync(target.fileno())
        os.replace(temporary, self.path)
        _fsync_directory(os.path.dirname(os.path.abspath(self.path)))


def _encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _parse(line: bytes, where: str) -> SealedRecord | Link:
    """A record line, or the anchor line as a `Link`; `CorruptRecord` says where otherwise."""
    data = json_object(line, where)
    anchor = data.get("anchor")
    if anchor is None:
        return SealedRecord.from_dict(data)
    try:
        return Link(int(anchor["seq"]), str(anchor["hash"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptRecord(f"{where}: unreadable anchor {anchor!r}") from exc


def _last_line(file: IO[bytes], size: int) -> bytes | None:
    """The last newline-terminated line before `size` (read backwards in growing blocks), or `None`."""
    block = 4096
    while True:
        start = max(0, size - block)
        file.seek(start)
        data = file.read(size - start)
        end = data.rfind(b"\n")
        begin = data.rfind(b"\n", 0, max(end, 0))
        if end >= 0 and (begin >= 0 or start == 0):
            return data[begin + 1 : end + 1]
        if start == 0:
            return None
        block *= 4


def _complete_size(file: IO[bytes], size: int) -> int:
    """The size of the file up to and including its last newline (0 when it has none)."""
    position = size
    while position > 0:
        start = max(0, position - 65536)
        file.seek(start)
        found = file.read(position - start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        position = start
    return 0


def _write_all(file: io.FileIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = file.write(view)
        view = view[written or 0 :]


def _same_file(file: io.FileIO, path: str) -> bool:
    try:
        return os.fstat(file.fileno()).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _fsync_directory(path: str) -> None:
    """Make a rename durable: the directory entry is data too."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
