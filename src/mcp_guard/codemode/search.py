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
from collections.abc import Callable, Iterable
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
SLICE = 500  # documents per slice of a build: well under 1 ms of work between two `pause` calls


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
    """An in-memory FTS5 index; built once (in any thread), then queried from any thread."""

    def __init__(self, documents: Iterable[Columns], pause: Callable[[], None] | None = None) -> None:
        """`documents`: each one's `Document.columns()`, numbered from 0 in this order. Taking them made lets
        a caller keep them between builds (a catalog change rebuilds with one server's documents new).
        `pause` runs between slices of `SLICE` inserts: built in a thread, the build would otherwise hold
        the GIL, and with it a waiting event loop, for up to the interpreter's 5 ms switch interval."""
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        try:
            self._db.execute(
                "CREATE VIRTUAL TABLE tools USING fts5(name, server, description, parameters, "
                "tokenize = 'porter unicode61')"
            )
        except sqlite3.OperationalError as exc:
            raise SearchUnavailable(f"tool search needs SQLite with FTS5: {exc}") from None
        insert = "INSERT INTO tools(rowid, name, server, description, parameters) VALUES (?, ?, ?, ?, ?)"
        numbered = enumerate(documents)
        with self._db:
            while rows := [(i, *columns) for i, columns in islice(numbered, SLICE)]:
                self._db.executemany(insert, rows)
                if pause is not None:
                    pause()

    def ranked(self, query: str, limit: int | None = None) -> list[int]:
        """Document numbers, best match first (the first `limit`, or all); none for a query without words."""
        terms = [w for w in dict.fromkeys(words(query)) if w not in _STOP_WORDS][:_MAX_QUERY_WORDS]
        if not terms:
            return []
        expression = " OR ".join(f'"{term}"' for term in terms)  # words are [a-z0-9]: nothing to escape
        weights = ", ".join(str(w) for w in _WEIGHTS)
        sql = f"SELECT rowid FROM tools WHERE tools MATCH ? ORDER BY bm25(tools, {weights})"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [row[0] for row in self._db.execute(sql, (expression,))]

    def close(self) -> None:
        self._db.close()
