"""Four gateway processes sign Ed25519 checkpoints over one PostgreSQL chain; after they stop, `mcp-guard
audit verify` with the public key only finds the chain intact and covered to its head, then finds a cut
end, a deletion in the middle, a reordering and a full rewrite without the key, each at its first bad
position (what issue 19 checks with real processes)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading

import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mcp_guard.audit import postgres_store
from mcp_guard.audit.chain import GENESIS, seal
from mcp_guard.audit.checkpoint_postgres import PostgresCheckpoints
from mcp_guard.audit.checkpoint_store import FileCheckpoints
from mcp_guard.audit.postgres_store import PostgresStore

from .cluster import Caller, Deployment, stop
from .services import POSTGRES_URL, REDIS_URL, require

pytestmark = pytest.mark.anyio

CALLS = 1_000
EVERY = 100  # records between checkpoints


def keypair(directory):
    key = Ed25519PrivateKey.generate()
    private, public = directory / "checkpoint.pem", directory / "checkpoint.pub"
    pkcs8 = serialization.PrivateFormat.PKCS8
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption()))
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, spki))
    return private, public


def verify(deployment: Deployment, public, *more: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "mcp_guard.cli", "audit", "verify", "--sink", deployment.postgres_sink]
    return subprocess.run([*argv, "--key-file", str(public), *more], capture_output=True, text=True, timeout=120)


def rewrite(deployment: Deployment, rows) -> None:
    """Replace the stored chain by `rows` with plain SQL, moving the head row too (a careful attacker)."""
    table = f'"{deployment.schema}"'
    head = rows[-1].link if rows else GENESIS
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db, db.transaction():
        db.execute(f"DELETE FROM {table}.audit_log")
        with db.cursor().copy(f"COPY {table}.audit_log ({', '.join(postgres_store._COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(postgres_store._to_row(row))
        db.execute(f"UPDATE {table}.audit_chain SET head_seq = %s, head_hash = %s", (head.seq, head.hash))


def by_seq(checkpoint):
    return checkpoint.seq, checkpoint.time


def stop_cleanly(processes) -> None:
    """SIGTERM, with time to drain and sign on a loaded machine (SIGKILL only after 60 s)."""
    threads = [threading.Thread(target=process.stop, kwargs={"grace": 60.0}) for process in processes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


async def test_four_processes_sign_one_chain_and_verify_finds_each_tampering(tmp_path):
    require(REDIS_URL)
    require(POSTGRES_URL)
    deployment = Deployment()
    private, public = keypair(tmp_path)
    checkpoints = {"key_file": str(private), "every_records": EVERY, "copy_to": str(tmp_path / "copy.jsonl")}
    processes = deployment.start(tmp_path, 4, deployment.config(audit={"checkpoints": checkpoints}))
    try:
        statuses = await Caller(processes, concurrency=100).many(deployment.keys["auditor"], "work/echo", CALLS)
        assert statuses.count(200) == CALLS, sorted(set(statuses))
        stop_cleanly(processes)  # each drains its writer, then signs the head if it moved

        done = verify(deployment, public)
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        store = PostgresStore.from_uri(deployment.postgres_sink, create=False)
        rows = list(store.iter_chain())
        store.close()
        head = rows[-1]
        assert head.seq >= CALLS and lines[0] == f"head: seq {head.seq}, hash {head.hash}"
        assert lines[1].startswith(f"last checkpoint: seq {head.seq}, hash {head.hash}") and lines[1].endswith("valid")
        assert lines[-1].startswith(f"OK: {head.seq} records, chain intact")
        stored = PostgresCheckpoints.from_uri(deployment.postgres_sink, create=False).all()
        assert lines[-1].endswith(f", {len(stored)} checkpoint(s) match")
        assert sorted(FileCheckpoints(tmp_path / "copy.jsonl").all(), key=by_seq) == stored  # every process copied
        assert len({cp.seq for cp in stored}) == len(stored)  # no head signed twice

        rewrite(deployment, rows[:-5])
        cut = verify(deployment, public)
        assert cut.returncode == 1 and cut.stdout.startswith(f"seq {head.seq - 4}: deleted (")

        rewrite(deployment, rows[:99] + rows[100:])
        assert verify(deployment, public).stdout.startswith("seq 100: deleted (")

        swapped = [*rows[:399], dataclasses.replace(rows[400], seq=400), dataclasses.replace(rows[399], seq=401)]
        rewrite(deployment, swapped + rows[401:])
        assert verify(deployment, public).stdout.startswith("seq 400: reordered (")

        edited = dataclasses.replace(rows[0].record, key_name="mallory")
        rewrite(deployment, seal(GENESIS, [edited, *(row.record for row in rows[1:])]))  # verifies on its own
        rewritten = verify(deployment, public)
        assert rewritten.returncode == 1 and rewritten.stdout.startswith("seq 1: rewritten (")

        with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
            db.execute(f'DELETE FROM "{deployment.schema}".audit_checkpoints')  # and hide the evidence
        assert verify(deployment, public).returncode == 0  # nothing in the store to compare with
        against_copy = verify(deployment, public, "--checkpoints", str(tmp_path / "copy.jsonl"))
        assert against_copy.stdout.startswith("seq 1: rewritten (")
    finally:
        stop(processes)
        deployment.cleanup()
