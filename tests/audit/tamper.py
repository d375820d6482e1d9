"""A log with checkpoints in a real store, and an attacker with write access to it but not the key.

`Tamper.write(rows)` replaces the stored rows with `rows` exactly as given (raw SQL, a rewritten file),
as someone editing the database or the file by hand would; on PostgreSQL it also moves the head row to
the last row written, as a careful attacker would.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import psycopg

from mcp_guard.audit import postgres_store, sqlite_store
from mcp_guard.audit.chain import GENESIS, SealedRecord, seal
from mcp_guard.audit.checkpoint import HmacKey
from mcp_guard.audit.checkpoint_store import open_checkpoints
from mcp_guard.audit.checkpointer import Checkpointer
from mcp_guard.audit.config import CheckpointSettings
from mcp_guard.audit.verify import VerifyReport, verify_store

from .helpers import POSTGRES_URL, make_record, open_backend, postgres_schema

KEY = HmacKey(b"k" * 32)
EVERY = CheckpointSettings(key_env="UNUSED", every_records=10, every_seconds=3600)


def sink_uri(kind: str, tmp_path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    if kind == "jsonl":
        return f"jsonl:///{tmp_path / 'audit.jsonl'}"
    return f"{POSTGRES_URL}?schema={postgres_schema(tmp_path)}"


class Tamper:
    def __init__(self, kind: str, tmp_path) -> None:
        self.kind, self.tmp_path = kind, tmp_path
        self.store = open_backend(kind, tmp_path)
        self.uri = sink_uri(kind, tmp_path)
        self.checkpoints = open_checkpoints(self.uri)
        self.keys = (KEY,)  # what verifies the checkpoints `build` signs

    def build(self, count: int, *, batch: int = 5, final: bool = True, signer=KEY) -> None:
        """`count` records written `batch` at a time, a checkpoint looked for after each batch (every 10
        records), and a final one as at a clean shutdown."""
        checkpointer = Checkpointer(self.store, self.checkpoints, signer, EVERY, clock=lambda: 1_700_000_000.0)
        for start in range(1, count + 1, batch):
            records = [make_record(n) for n in range(start, min(start + batch, count + 1))]
            self.store.append_batch(seal(self.store.last_link(), records))
            checkpointer.tick()
        if final:
            checkpointer.tick(final=True)

    def rows(self) -> list[SealedRecord]:
        return list(self.store.iter_chain())

    def write(self, rows: list[SealedRecord]) -> None:
        self.store.close()
        if self.kind == "sqlite":
            with closing(sqlite3.connect(self.tmp_path / "audit.db")) as db, db:
                db.execute("DELETE FROM audit_log")
                db.executemany(sqlite_store._INSERT, [sqlite_store._to_row(row) for row in rows])
        elif self.kind == "jsonl":
            anchor = self.store.anchor()  # the retention anchor line stays first, as a purge left it
            header = [{"anchor": {"seq": anchor.seq, "hash": anchor.hash}}] if anchor else []
            text = "".join(json.dumps(item) + "\n" for item in [*header, *(row.as_dict() for row in rows)])
            (self.tmp_path / "audit.jsonl").write_text(text)
        else:
            schema = f'"{postgres_schema(self.tmp_path)}"'
            head = rows[-1].link if rows else GENESIS
            with psycopg.connect(POSTGRES_URL, autocommit=True) as db, db.transaction():
                db.execute(f"DELETE FROM {schema}.audit_log")
                with db.cursor().copy(
                    f"COPY {schema}.audit_log ({', '.join(postgres_store._COLUMNS)}) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(postgres_store._to_row(row))
                db.execute(f"UPDATE {schema}.audit_chain SET head_seq = %s, head_hash = %s", (head.seq, head.hash))

    def verify(self, keys=None, **options) -> VerifyReport:
        report = verify_store(self.store, self.checkpoints.all(), self.keys if keys is None else keys, **options)
        self.store.close()
        return report


def resealed(rows: list[SealedRecord], start: int = 0) -> list[SealedRecord]:
    """`rows` re-chained from position `start` on (what someone without the key can do: hashes are public)."""
    head = rows[start - 1].link if start else GENESIS
    return rows[:start] + seal(head, [row.record for row in rows[start:]])


def first(report: VerifyReport) -> tuple[int, str]:
    problem = report.problems[0]
    return problem.seq, problem.kind
