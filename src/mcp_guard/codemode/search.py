"""Ranked tool search: BM25 over names, descriptions and parameter names, by SQLite's FTS5.

Why FTS5: it is a maintained, widely deployed BM25 implementation (Okapi BM25, k1 = 1.2, b = 0.75, with
per-column weights) that ships inside the `sqlite3` module of the standard library, so it adds nothing
to install and nothing to import (the audit log already loads SQLite). The Python BM25 packages either pull
numpy or scipy in (`bm25s`, `rank-bm25`, the latter unmaintained since 2022) or a compiled search engine
(`tantivy`), for a corpus of a few thousand short documents.

Each tool is one document with four columns, weighted in this order: its name, its server's name, its
description and its parameters' names. Names are split into words first (`create_issue`,
`createIssue` → `create issue`) and everything is stemmed (Porter), so "creating issues" finds
`create_issue`. A query is split the same way and its words are OR-ed: BM25 then ranks documents that
match more (and rarer) words first.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice

_WEIGHTS = (8.0, 4.0, 2.0, 1.0)  # name, server, description, parameter names: see bench/README.md
_CHUNK = re.compile(r"[A-Za-z0-9]+")
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_STOP_WORDS = frozenset(
    "a an and are as at be by for from how i in into is it its me my of on or that the this to was what "
    "which with you your all any".split()
)
_MAX_QUERY_WORDS = 32
SLICE_SECONDS = 0.0005  # of a build's work between two `pause` calls
_BATCH = 25  # rows worked out and inserted at a time: ~0.5 ms when their documents are new
_SLOT_GAP = 1 << 16  # between two groups' slots in a fresh index: room for groups added later
_LAST = (1 << 32) - 1  # a position in a group: the low 32 bits of a rowid
_INSERT = "INSERT INTO tools(rowid, name, server, description, parameters) VALUES (?, ?, ?, ?, ?)"


class SearchUnavailable(RuntimeError):
    """This Python's SQLite was built without FTS5."""


@dataclass(frozen=True, slots=True)
class Document:
    """What one tool is searched by."""

    name: str
    server: str
    description: str
    parameters: str

    def columns(self) -> Columns:
        """What is indexed, column by column: the names split into words (`SearchIndex`)."""
        return (" ".join(words(self.name)), " ".join(words(self.server)), self.description, self.parameters)


Columns = tuple[str, str, str, str]


def name_parts(name: str) -> list[str]:
    """`create_pullRequest` → `['create', 'pull', 'Request']`: the words of an identifier, as written."""
    return [part for chunk in _CHUNK.findall(name) for part in _CAMEL_PART.findall(chunk)]


def words(text: str) -> list[str]:
    """Each run of letters and digits, lower-cased, and its camelCase parts when it has several:
    `createIssue_v2 (GitHub)` → `createissue create issue v2 v 2 github git hub`."""
    found: list[str] = []
    for chunk in _CHUNK.findall(text):
        found.append(chunk.lower())
        parts = _CAMEL_PART.findall(chunk)
        if len(parts) > 1:
            found.extend(p.lower() for p in parts)
    return found


class SearchIndex:
    """An in-memory FTS5 index over named groups of documents (a server's tools); built once (in any thread),
    then queried from any thread.

    A row's rowid is its group's slot and its position in the group (`slot << 32 | position`), slots rising
    in the groups' order: rowid order is document order, as if the documents were numbered one after another,
    so ties in rank come out in the same order however the index was made. An index made from the one before a
    change copies it (SQLite's backup, in C, the GIL released) and replaces only the changed groups' rows: a
    change of one server among 50 costs ~1/50 of a build, most of it in SQLite (`bench/catalog_scale.py`)."""

    def __init__(
        self,
        groups: Mapping[str, Iterable[Columns]],
        pause: Callable[[], None] | None = None,
        *,
        previous: SearchIndex | None = None,
        kept: Collection[str] = (),
    ) -> None:
        """`groups`: each group's documents (`Document.columns()`), in order; taken lazily, and only for the
        groups not `kept`. `kept`: the groups whose documents are those `previous` holds under the same name.
        `pause` runs after every `SLICE_SECONDS` of work (working out documents, inserting rows): built in a
        thread, the build would otherwise hold the GIL, and with it a waiting event loop, for up to the
        interpreter's 5 ms switch interval (SQLite releases the GIL for each row, but the build takes it
        back before the waiting thread has woken up)."""
        kept = {name for name in kept if name in groups and previous is not None and name in previous._slots}
        slots = _slots(list(groups), previous._slots, kept) if previous is not None else None
        if slots is None:  # a first build, or no room between the kept groups' slots: every row new
            previous, kept, slots = None, set(), {name: (n + 1) * _SLOT_GAP for n, name in enumerate(groups)}
        self._slots: dict[str, int] = slots
        self._groups = {slot: name for name, slot in slots.items()}
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        if previous is None:
            self._create()
        else:
            previous._db.backup(self._db)
        self._compact_pages: int = previous._compact_pages if previous is not None else 0
        stale = [slot for name, slot in (previous._slots.items() if previous else ()) if name not in kept]
        rows = _rows({name: groups[name] for name in groups if name not in kept}, slots)
        with self._db:
            for slot in stale:
                self._db.execute("DELETE FROM tools WHERE rowid BETWEEN ? AND ?", (slot << 32, (slot << 32) | _LAST))
            due = time.perf_counter() + SLICE_SECONDS
            while batch := list(islice(rows, _BATCH)):
                self._db.executemany(_INSERT, batch)
                if pause is not None and time.perf_counter() >= due:
                    pause()
                    due = time.perf_counter() + SLICE_SECONDS
        self._compact()

    def _compact(self) -> None:
        """Updated in place, FTS5 keeps deleted rows' index entries until its segments merge, and SQLite the
        freed pages: after ~1,000 changes the index is 3x its size. Past twice the size it had when last
        compact, merge the segments and drop the free pages (in C, the GIL released: ~35 ms at 10,000
        tools, once every few hundred changes); the copy per change stays small."""
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        if self._compact_pages and pages <= 2 * self._compact_pages:
            return
        if self._compact_pages:
            with self._db:
                self._db.execute("INSERT INTO tools(tools) VALUES ('optimize')")
            self._db.execute("VACUUM")
            pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        self._compact_pages = pages

    def _create(self) -> None:
        try:
            self._db.execute(
                "CREATE VIRTUAL TABLE tools USING fts5(name, server, description, parameters, "
                "tokenize = 'porter unicode61')"
            )
        except sqlite3.OperationalError as exc:
            raise SearchUnavailable(f"tool search needs SQLite with FTS5: {exc}") from None

    def ranked(self, query: str, limit: int | None = None) -> list[tuple[str, int]]:
        """(group, position in the group) of the best matches, best first (the first `limit`, or all); none
        for a query without words."""
        terms = [w for w in dict.fromkeys(words(query)) if w not in _STOP_WORDS][:_MAX_QUERY_WORDS]
        if not terms:
            return []
        expression = " OR ".join(f'"{term}"' for term in terms)  # words are [a-z0-9]: nothing to escape
        weights = ", ".join(str(w) for w in _WEIGHTS)
        sql = f"SELECT rowid FROM tools WHERE tools MATCH ? ORDER BY bm25(tools, {weights})"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        groups = self._groups
        return [(groups[rowid >> 32], rowid & _LAST) for (rowid,) in self._db.execute(sql, (expression,))]

    def close(self) -> None:
        self._db.close()


def _slots(order: list[str], before: Mapping[str, int], kept: Collection[str]) -> dict[str, int] | None:
    """Slots rising in `order`: the kept groups keep theirs, the others take evenly spaced ones between their
    neighbours'. None when the kept slots are out of order or there is no room left between two of them."""
    slots: dict[str, int] = {}
    pending: list[str] = []  # groups waiting for the next kept slot (or the end)
    low = 0
    for name in [*order, None]:
        high = before[name] if name is not None and name in kept else None
        if name is not None and high is None:
            pending.append(name)
            continue
        top = high if high is not None else low + (len(pending) + 1) * _SLOT_GAP
        step = (top - low) // (len(pending) + 1)
        if step < 1 or top >= 1 << 30:
            return None
        slots.update((group, low + step * (n + 1)) for n, group in enumerate(pending))
        pending.clear()
        if name is not None:
            slots[name] = low = top
    return slots


def _rows(groups: Mapping[str, Iterable[Columns]], slots: Mapping[str, int]) -> Iterator[tuple[object, ...]]:
    for name, documents in groups.items():
        base = slots[name] << 32
        for position, columns in enumerate(documents):
            yield (base | position, *columns)
