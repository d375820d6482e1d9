"""`audit verify` and `audit tail`, through argparse in-process and as a real process for `--follow`."""

import argparse
import selectors
import sqlite3
import subprocess
import sys
import time
from contextlib import closing

import pytest

from mcp_guard.audit.chain import seal
from mcp_guard.audit.cli import add_audit_commands, main
from mcp_guard.audit.sqlite_store import SQLiteStore

from .helpers import make_record, sealed


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
    assert capsys.readouterr().out == "OK: 4 records, chain intact\n"


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
