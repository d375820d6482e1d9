"""`audit verify` and `audit tail`, through argparse in-process and as a real process for `--follow`."""

import argparse
import io
import json
import selectors
import sqlite3
import subprocess
import sys
import time
from contextlib import closing

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mcp_guard.audit.chain import seal
from mcp_guard.audit.checkpoint_keys import Ed25519Signer
from mcp_guard.audit.cli import ProgressLine, add_audit_commands, main
from mcp_guard.audit.sqlite_store import SQLiteStore

from .helpers import make_record, sealed
from .tamper import Tamper


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "audit.db"
    store = SQLiteStore(path)
    store.append_batch(sealed(3))
    store.append_batch(
        seal(store.last_link(), [make_record(4, decision="denied", outcome="denied", reason="rate_limited", cost=0)])
    )
    store.close()
    return path


def run(*argv):
    parser = argparse.ArgumentParser(prog="mcp-guard")
    add_audit_commands(parser.add_subparsers(required=True))
    args = parser.parse_args(["audit", *argv])
    return args.run(args)


def test_verify_ok(db, capsys):
    assert run("verify", "--sink", f"sqlite:///{db}") == 0
    head = SQLiteStore(db).last_link()
    assert capsys.readouterr().out.splitlines() == [
        f"head: seq 4, hash {head.hash}",
        "last checkpoint: none (without audit.checkpoints a cut end or a re-sealed chain is not seen)",
        "OK: 4 records, chain intact",
    ]


@pytest.fixture
def signed(tmp_path):
    """45 records with Ed25519 checkpoints at 10, 20, 30, 40 and 45; the auditor's public key beside it."""
    key = Ed25519PrivateKey.generate()
    tamper = Tamper("sqlite", tmp_path)
    tamper.build(45, signer=Ed25519Signer(key))
    tamper.store.close()
    public = tmp_path / "checkpoint.pub"
    public.write_bytes(Ed25519Signer(key).public_pem())
    return tamper, f"sqlite:///{tmp_path / 'audit.db'}", str(public)


def test_verify_prints_the_head_and_the_last_checkpoint_checked_with_a_public_key(signed, capsys):
    tamper, sink, public = signed
    assert run("verify", "--sink", sink, "--key-file", public) == 0
    out = capsys.readouterr().out.splitlines()
    head = tamper.store.last_link()
    key_id = tamper.checkpoints.last().key_id
    assert out[0] == f"head: seq 45, hash {head.hash}"
    assert out[1] == f"last checkpoint: seq 45, hash {head.hash}, signed 2023-11-14T22:13:20Z by key {key_id}: valid"
    assert out[2] == "OK: 45 records, chain intact, 5 checkpoint(s) match"


def test_verify_reports_a_cut_end_and_a_wrong_key(signed, capsys, tmp_path):
    tamper, sink, public = signed
    tamper.write(tamper.rows()[:40])
    assert run("verify", "--sink", sink, "--key-file", public) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("seq 41: deleted (seqs 41..45 cut from the end")
    assert out[1] == f"head: seq 40, hash {tamper.rows()[-1].hash}" and out[-1].startswith("FAILED")
    other = tmp_path / "other.pub"
    other.write_bytes(Ed25519Signer(Ed25519PrivateKey.generate()).public_pem())
    assert run("verify", "--sink", sink, "--key-file", str(other)) == 1
    out = capsys.readouterr().out
    assert "seq 10: checkpoint (checkpoint names key" in out and out.count(": unknown key") == 1


def test_verify_a_range_and_with_a_copy_of_the_checkpoints(signed, capsys, tmp_path):
    tamper, sink, public = signed
    assert run("verify", "--sink", sink, "--key-file", public, "--from", "25", "--to", "35") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "range: seqs 25..35, verified from seq 20" and out[-1].startswith("OK: 15 records")
    copy = tmp_path / "copy.jsonl"
    copy.write_text("".join(json.dumps(cp.as_dict()) + "\n" for cp in tamper.checkpoints.all()))
    with closing(sqlite3.connect(tmp_path / "audit.db")) as connection, connection:
        connection.execute("DELETE FROM audit_log WHERE seq > 33")
        connection.execute("DELETE FROM audit_checkpoints")
    assert run("verify", "--sink", sink, "--key-file", public) == 0  # nothing left to compare with
    assert capsys.readouterr().out.splitlines()[-1].startswith("warning: no valid checkpoint")
    assert run("verify", "--sink", sink, "--key-file", public, "--checkpoints", str(copy)) == 1
    assert capsys.readouterr().out.startswith("seq 34: deleted")
    assert run("verify", "--sink", sink, "--checkpoints", str(tmp_path / "missing.jsonl")) == 2


def test_verify_shows_progress_on_request(signed, capsys, monkeypatch):
    _, sink, public = signed
    monkeypatch.setattr("mcp_guard.audit.verify.PROGRESS_EVERY", 10)
    assert run("verify", "--sink", sink, "--progress") == 0
    err = capsys.readouterr().err.splitlines()
    assert err and err[-1] == "verified 45 of 45 records (100%)"


def test_progress_lines_come_every_50_000_records_at_most_once_a_second_and_at_the_end():
    stream = io.StringIO()
    progress = ProgressLine(stream)
    for done in range(10_000, 130_001, 10_000):
        progress(done, 300_000)
    progress.end()
    assert stream.getvalue().splitlines() == [
        "verified 50,000 of 300,000 records (16%)",
        "verified 100,000 of 300,000 records (33%)",
        "verified 130,000 of 300,000 records (43%)",
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--from", "9", "--to", "3"], "--from 9 is after --to 3"),
        (["--from", "0"], "'0' is not a seq"),
        (["--to", str(2**64)], "is not a seq"),
        (["--from", "ten"], "'ten' is not a whole number"),
    ],
)
def test_verify_refuses_a_range_that_is_not_one(signed, capsys, arguments, message):
    _, sink, _ = signed
    try:
        code = main(["audit", "verify", "--sink", sink, *arguments])
    except SystemExit as exit:  # what argparse does with an argument its type refuses
        code = exit.code
    assert code == 2 and message in capsys.readouterr().err


def test_verify_refuses_an_unusable_key(signed, capsys, tmp_path):
    _, sink, _ = signed
    (tmp_path / "short").write_text("tiny")
    assert main(["audit", "verify", "--sink", sink, "--key-file", str(tmp_path / "short")]) == 2
    assert "at least 32 bytes" in capsys.readouterr().err


def test_verify_reports_each_problem_and_fails(db, capsys):
    with closing(sqlite3.connect(db)) as connection, connection:
        connection.execute("UPDATE audit_log SET key_name = 'mallory' WHERE seq = 2")
        connection.execute("DELETE FROM audit_log WHERE seq = 3")
    assert run("verify", "--sink", f"sqlite:///{db}") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("seq 2: edited") and out[1].startswith("seq 3: deleted")
    assert out[-1] == "FAILED: 3 records checked, 2 problem(s)"


def test_verify_does_not_create_a_missing_log(tmp_path, capsys):
    missing = tmp_path / "typo.db"
    assert main(["audit", "verify", "--sink", f"sqlite:///{missing}"]) == 2
    assert "typo.db" in capsys.readouterr().err and not missing.exists()
    assert main(["audit", "verify", "--sink", "ftp://nowhere"]) == 2


def test_tail_prints_the_last_records_oldest_first(db, capsys):
    assert run("tail", "--sink", f"sqlite:///{db}", "-n", "2") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].split() == [
        "2023-11-14T22:13:23.000Z",
        "allowed",
        "alice",
        "notes/search",
        "ok",
        "$0.0100",
        "12.5ms",
    ]
    assert lines[1].split()[1:6] == ["denied", "alice", "notes/search", "denied", "(rate_limited)"]


def test_tail_follow_prints_new_records_as_they_are_written(db):
    command = [sys.executable, "-m", "mcp_guard.audit.cli", "audit", "tail", "--sink", f"sqlite:///{db}"]
    process = subprocess.Popen([*command, "-n", "1", "--follow", "--interval", "0.05"], stdout=subprocess.PIPE)
    try:
        assert "denied" in read_line(process)
        store = SQLiteStore(db)
        store.append_batch(seal(store.last_link(), [make_record(5, key_name="carol")]))
        store.close()
        assert "carol" in read_line(process)
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def read_line(process, timeout=10.0):
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(deadline - time.monotonic()):
                return process.stdout.readline().decode()
    raise AssertionError("no output from audit tail --follow")


def test_hostile_checkpoints_are_reported_not_crashed_on(signed, capsys, tmp_path):
    _, sink, public = signed
    hmac_key = tmp_path / "hmac"
    hmac_key.write_text("h" * 32)
    with closing(sqlite3.connect(tmp_path / "audit.db")) as connection, connection:
        connection.execute("UPDATE audit_checkpoints SET signature = 'ünïcödé' WHERE seq = 20")
    assert run("verify", "--sink", sink, "--key-file", public, "--key-file", str(hmac_key)) == 1
    assert (
        "seq 20: checkpoint (checkpoint signed 2023-11-14T22:13:20Z does not verify: forged)" in capsys.readouterr().out
    )
    with closing(sqlite3.connect(tmp_path / "audit.db")) as connection, connection:
        connection.execute("UPDATE audit_checkpoints SET seq = 'ten' WHERE seq = 10")
    assert run("verify", "--sink", sink, "--key-file", public) == 2
    assert "audit.db: unreadable checkpoint" in capsys.readouterr().err
    with closing(sqlite3.connect(tmp_path / "audit.db")) as connection, connection:
        connection.execute("UPDATE audit_checkpoints SET seq = 10 WHERE seq = 'ten'")
    copy = tmp_path / "copy.jsonl"
    copy.write_text('{"seq": 1}\n')
    assert run("verify", "--sink", sink, "--checkpoints", str(copy)) == 2
    assert "copy.jsonl:1: unreadable checkpoint" in capsys.readouterr().err
