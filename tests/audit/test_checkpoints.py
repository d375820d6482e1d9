"""Tampering that the chain alone cannot see, caught by signed checkpoints, on real SQLite, PostgreSQL and
JSON-lines stores: each is reported with its first bad position.

45 records, written 5 at a time, checkpoints every 10 records (at 10, 20, 30, 40) and one at shutdown (45).
"""

import dataclasses

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mcp_guard.audit.chain import seal
from mcp_guard.audit.checkpoint import HmacKey, sign
from mcp_guard.audit.checkpoint_keys import Ed25519Signer, verifier_from
from mcp_guard.audit.checkpoint_store import FileCheckpoints, MemoryCheckpoints
from mcp_guard.audit.memory_store import MemoryStore
from mcp_guard.audit.verify import verify_store

from .helpers import POSTGRES_URL, T0, drop_backend, make_record, postgres_schema
from .tamper import KEY, Tamper, first, resealed

ATTACKER = HmacKey(b"m" * 32)


ED25519 = Ed25519Signer(Ed25519PrivateKey.generate())


@pytest.fixture(params=["sqlite", "postgres", "jsonl", "sqlite-ed25519"])
def log(request, tmp_path):
    kind, _, algorithm = request.param.partition("-")
    tamper = Tamper(kind, tmp_path)
    tamper.build(45, signer=ED25519 if algorithm else KEY)
    tamper.keys = (verifier_from(ED25519.public_pem(), "public key"),) if algorithm else (KEY,)
    yield tamper
    tamper.store.close()
    drop_backend(kind, tmp_path)


def test_an_intact_log_verifies_with_its_checkpoints(log):
    report = log.verify()
    assert report.ok, report.problems
    assert [cp.seq for cp in report.trusted] == [10, 20, 30, 40, 45]
    assert report.checkpoint.status == "valid" and report.checkpoint.checkpoint.seq == 45
    assert report.head.seq == 45 and report.uncovered == 0


def test_the_tail_cut_of_the_issue_is_found(log):
    rows = log.rows()
    log.write(rows[:40])  # the last 5 records deleted: the chain that remains verifies on its own
    report = log.verify()
    assert first(report) == (41, "deleted") and len(report.problems) == 1
    assert "seqs 41..45 cut from the end" in report.problems[0].detail


def test_a_deletion_in_the_middle_is_found(log):
    rows = log.rows()
    log.write(rows[:22] + rows[23:])
    assert first(log.verify()) == (23, "deleted")


def test_a_deletion_in_the_middle_resealed_is_found_where_the_checkpoints_place_it(log):
    rows = log.rows()
    log.write(resealed(rows[:20] + rows[21:], 20))  # record 21 gone, 22.. renumbered and re-hashed
    report = log.verify()
    assert first(report) == (21, "rewritten")
    assert "somewhere in seqs 21..30" in report.problems[0].detail
    assert [p.kind for p in report.problems] == ["rewritten", "deleted"]  # and the end is one record short


def test_a_reordering_is_found(log):
    rows = log.rows()
    rows[26], rows[27] = dataclasses.replace(rows[27], seq=27), dataclasses.replace(rows[26], seq=28)
    log.write(rows)
    assert first(log.verify()) == (27, "reordered")


def test_a_reordering_resealed_is_found(log):
    rows = log.rows()
    rows[30], rows[31] = rows[31], rows[30]  # seqs 31 and 32 swapped, then the chain re-sealed from there
    log.write(resealed(rows, 30))
    report = log.verify()
    assert first(report) == (31, "rewritten") and "somewhere in seqs 31..40" in report.problems[0].detail


def test_a_full_rewrite_without_the_key_is_found(log):
    rows = log.rows()
    rows[4] = dataclasses.replace(rows[4], record=dataclasses.replace(rows[4].record, key_name="mallory"))
    log.write(resealed(rows))  # a chain that verifies from genesis
    report = log.verify()
    assert first(report) == (1, "rewritten") and len(report.problems) == 1


def test_checkpoints_forged_with_another_key_prove_nothing_and_are_reported(log):
    rows = resealed([dataclasses.replace(row, record=make_record(row.seq, key_name="mallory")) for row in log.rows()])
    log.write(rows)
    forged = sign(ATTACKER, 45, rows[-1].hash, 1_700_000_100.0)
    report = verify_store(log.store, [*log.checkpoints.all(), forged], log.keys)
    assert first(report) == (1, "rewritten")
    assert [(p.seq, p.kind) for p in report.problems[1:]] == [(45, "checkpoint")]
    assert "not among the keys" in report.problems[1].detail


def test_a_tail_cut_after_the_last_checkpoint_is_not_seen_in_the_store_alone(tmp_path):
    tamper = Tamper("sqlite", tmp_path)
    tamper.build(45, final=False)  # no clean shutdown: checkpoints at 10..40 only
    tamper.write(tamper.rows()[:42])
    report = tamper.verify()
    assert report.ok and report.uncovered == 2  # honest: records past the last checkpoint are not covered


def test_a_cut_hidden_by_deleting_checkpoints_too_is_found_against_a_copy_elsewhere(tmp_path):
    tamper = Tamper("sqlite", tmp_path)
    tamper.build(45)
    copy = FileCheckpoints(tmp_path / "elsewhere.jsonl")
    for checkpoint in tamper.checkpoints.all():
        copy.append(checkpoint)
    tamper.write(tamper.rows()[:33])
    report = verify_store(tamper.store, [], [KEY])  # the checkpoints in the store were deleted as well
    assert report.ok
    report = verify_store(tamper.store, copy.all(), [KEY])
    assert first(report) == (34, "deleted")


def test_a_checkpoint_with_a_broken_signature_is_reported():
    store, checkpoints = MemoryStore(), MemoryCheckpoints()
    store.append_batch(seal(store.last_link(), [make_record(n) for n in range(1, 6)]))
    good = sign(KEY, 5, store.last_link().hash, 1_700_000_000.0)
    checkpoints.add(dataclasses.replace(good, seq=9))  # claims more than was signed
    report = verify_store(store, checkpoints.all(), [KEY])
    assert [(p.seq, p.kind) for p in report.problems] == [(9, "checkpoint")]
    assert report.checkpoint.status == "invalid"


def test_without_keys_checkpoints_are_compared_but_not_checked(log):
    log.write(log.rows()[:40])
    report = log.verify(keys=())
    assert first(report) == (41, "deleted") and report.checkpoint.status == "not checked"


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_range_starts_at_the_checkpoint_before_it(kind, tmp_path):
    tamper = Tamper(kind, tmp_path)
    try:
        tamper.build(45)
        report = tamper.verify(first=25, last=35)
        assert report.ok and report.anchor.seq == 20 and report.checked == 15 and report.head.seq == 35
        rows = tamper.rows()
        rows[2] = dataclasses.replace(rows[2], record=make_record(3, key_name="mallory"))  # outside the range
        rows[32] = dataclasses.replace(rows[32], record=make_record(33, key_name="mallory"))
        tamper.write(rows)
        assert [(p.seq, p.kind) for p in tamper.verify(first=25, last=35).problems] == [(33, "edited")]
        tamper.write(rows[:31] + rows[34:])  # 32..34 deleted: rows after the range remain
        assert first(tamper.verify(first=25, last=33)) == (32, "deleted")
    finally:
        tamper.store.close()
        drop_backend(kind, tmp_path)


def test_a_range_resealed_from_before_its_checkpoint_is_found(tmp_path):
    tamper = Tamper("jsonl", tmp_path)
    tamper.build(45)
    rows = tamper.rows()
    rows[14] = dataclasses.replace(rows[14], record=make_record(15, key_name="mallory"))
    tamper.write(resealed(rows, 14))
    report = tamper.verify(first=25, last=35)  # anchored at the checkpoint at 20, which no longer matches
    assert first(report) == (21, "deleted") and "the anchor" in report.problems[0].detail


def test_postgres_head_row_shows_a_careless_cut_even_without_checkpoints(tmp_path):
    tamper = Tamper("postgres", tmp_path)
    try:
        tamper.build(12, final=False)
        schema = f'"{postgres_schema(tmp_path)}"'
        with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
            db.execute(f"DELETE FROM {schema}.audit_log WHERE seq > 9")  # the head row still says 12
        report = verify_store(tamper.store)
        assert [(p.seq, p.kind) for p in report.problems] == [(10, "deleted")]
        assert "the store's head is at seq 12" in report.problems[0].detail
    finally:
        tamper.store.close()
        drop_backend("postgres", tmp_path)


def test_checkpoints_still_bind_after_a_retention_purge(log):
    assert log.store.purge_before(T0 + 26) == 25  # records 1..25 go; the anchor is seq 25
    log.store.close()
    report = log.verify()
    assert report.ok and report.anchor.seq == 25 and report.checked == 20
    log.write(log.rows()[:-3])
    assert first(log.verify()) == (43, "deleted")


def test_after_a_key_rotation_every_key_that_signed_is_given(tmp_path):
    tamper = Tamper("sqlite", tmp_path)
    tamper.build(20, final=False)  # HMAC checkpoints at 10 and 20
    tamper.store.append_batch(seal(tamper.store.last_link(), [make_record(n) for n in range(21, 31)]))
    new = Ed25519Signer(Ed25519PrivateKey.generate())
    tamper.checkpoints.add(sign(new, 30, tamper.store.last_link().hash, 1_700_000_200.0))
    public = verifier_from(new.public_pem(), "public key")
    assert tamper.verify(keys=(KEY, public)).ok
    only_new = tamper.verify(keys=(public,))
    assert [(p.seq, p.kind) for p in only_new.problems] == [(10, "checkpoint"), (20, "checkpoint")]
