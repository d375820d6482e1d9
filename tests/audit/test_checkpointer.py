"""`Checkpointer`: when it signs, where checkpoints go, and how it runs beside the audit writer.

Real SQLite files, a real HTTP server for the webhook, a fake clock for "every T seconds"."""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio
import pytest

from mcp_guard.audit import AuditLog, AuditSettings
from mcp_guard.audit.chain import seal
from mcp_guard.audit.checkpoint import HmacKey, sign
from mcp_guard.audit.checkpoint_publish import FileCopy, Webhook
from mcp_guard.audit.checkpoint_store import FileCheckpoints, SQLiteCheckpoints
from mcp_guard.audit.checkpointer import Checkpointer
from mcp_guard.audit.config import CheckpointSettings
from mcp_guard.audit.sqlite_store import SQLiteStore
from mcp_guard.audit.verify import verify_store
from mcp_guard.config import GatewayConfig
from mcp_guard.errors import ConfigError
from mcp_guard.governance import Governance
from tests.support.clock import ManualClock
from tests.support.processes import free_port

from .helpers import make_record

EPOCH = 1_700_000_000.0  # the checkpoints' clock starts here
KEY = HmacKey(b"k" * 32)


def append(store, count):
    start = store.last_link().seq + 1
    store.append_batch(seal(store.last_link(), [make_record(n) for n in range(start, start + count)]))


def checkpointer(path, clock=None, publishers=None, **settings):
    options = CheckpointSettings(key_env="UNUSED", **({"every_records": 10, "every_seconds": 60} | settings))
    clock = clock or ManualClock(EPOCH)
    return Checkpointer(SQLiteStore(path), SQLiteCheckpoints(path), KEY, options, publishers=publishers, clock=clock)


def test_due_every_n_records_or_t_seconds_and_never_for_an_unmoved_head(tmp_path):
    path, clock = tmp_path / "audit.db", ManualClock(EPOCH)
    store, signer = SQLiteStore(path), checkpointer(tmp_path / "audit.db", clock)
    assert signer.tick() is None  # an empty log
    append(store, 9)
    assert signer.tick() is None
    append(store, 1)
    assert signer.tick().seq == 10
    append(store, 3)
    assert signer.tick() is None
    clock.now += 60
    assert signer.tick().seq == 13  # the time is up and the head moved
    clock.now += 600
    assert signer.tick() is None and signer.tick(final=True) is None  # it did not move since
    append(store, 1)
    assert signer.tick(final=True).seq == 14
    assert [cp.seq for cp in SQLiteCheckpoints(path).all()] == [10, 13, 14]
    assert verify_store(store, SQLiteCheckpoints(path).all(), [KEY]).ok


def test_two_processes_on_one_chain_do_not_sign_the_same_head_twice(tmp_path):
    path = tmp_path / "audit.db"
    store, first, second = SQLiteStore(path), checkpointer(path), checkpointer(path)
    append(store, 12)
    assert first.tick().seq == 12
    assert second.tick() is None  # it re-reads the stored checkpoints before signing
    append(store, 10)
    assert second.tick().seq == 22 and first.tick() is None
    assert [cp.seq for cp in SQLiteCheckpoints(path).all()] == [12, 22]


class Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - the http.server name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"type": self.headers["Content-Type"], **json.loads(body)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_copies_go_to_a_file_elsewhere_and_a_webhook(tmp_path):
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/checkpoints?token=s3cret"
        copies = [FileCopy(str(tmp_path / "elsewhere.jsonl")), Webhook(url, log="sqlite:///audit.db", timeout=5)]
        signer = checkpointer(tmp_path / "audit.db", publishers=copies)
        append(SQLiteStore(tmp_path / "audit.db"), 10)
        checkpoint = signer.tick()
    finally:
        server.shutdown()
        server.server_close()
    assert FileCheckpoints(tmp_path / "elsewhere.jsonl").all() == [checkpoint]
    [posted] = Receiver.received
    assert posted == {"type": "application/json", "log": "sqlite:///audit.db", **checkpoint.as_dict()}
    assert "s3cret" not in copies[1].name


def test_a_failing_webhook_is_logged_once_per_outage_and_never_stops_checkpoints(tmp_path, caplog):
    port = free_port()  # nothing listens yet
    copies = [Webhook(f"http://127.0.0.1:{port}/hook", log="x", timeout=2)]
    path, clock = tmp_path / "audit.db", ManualClock(EPOCH)
    signer = checkpointer(path, clock, publishers=copies)
    with caplog.at_level(logging.INFO, logger="mcp_guard.audit.checkpoint_publish"):
        for _ in range(3):
            append(SQLiteStore(path), 10)
            assert signer.tick() is not None  # stored, whatever the webhook does
        Receiver.received = []
        server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            append(SQLiteStore(path), 10)
            signer.tick()
        finally:
            server.shutdown()
            server.server_close()
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 1 and failures[0].levelno == logging.ERROR
    assert any("works again" in r.getMessage() for r in caplog.records)
    assert [posted["seq"] for posted in Receiver.received] == [40]
    assert [cp.seq for cp in SQLiteCheckpoints(path).all()] == [10, 20, 30, 40]


@pytest.mark.anyio
async def test_running_beside_the_writer_signs_while_it_runs_and_once_more_after_it_drained(tmp_path):
    path = tmp_path / "audit.db"
    log = AuditLog(SQLiteStore(path), AuditSettings(flush_interval=0))
    signer = checkpointer(path, every_records=10, every_seconds=0.05)  # looks every 0.05 s
    async with signer.running(log):
        for n in range(1, 11):
            await log.record(make_record(n))
        await log.flush()
        with anyio.fail_after(10):
            while not SQLiteCheckpoints(path).all():
                await anyio.sleep(0.02)
        for n in range(11, 16):
            await log.record(make_record(n))
    checkpoints = SQLiteCheckpoints(path).all()
    assert checkpoints[0].seq == 10 and checkpoints[-1].seq == 15  # the last one after the final flush
    assert verify_store(SQLiteStore(path), checkpoints, [KEY]).uncovered == 0


@pytest.mark.anyio
@pytest.mark.parametrize("sink", ["sqlite:///{tmp_path}/audit.db", "memory://"])
async def test_the_gateway_runs_checkpoints_from_its_configuration(sink, tmp_path, monkeypatch):
    monkeypatch.setenv("MCP_GUARD_CHECKPOINT_KEY", "z" * 32)
    audit = {
        "sink": sink.format(tmp_path=tmp_path),
        "checkpoints": {"key_env": "MCP_GUARD_CHECKPOINT_KEY", "copy_to": str(tmp_path / "copy.jsonl")},
    }
    governance = Governance(GatewayConfig.model_validate({"audit": audit}))
    async with governance.running():
        for n in range(1, 4):
            await governance.audit.record(make_record(n))
    [checkpoint] = FileCheckpoints(tmp_path / "copy.jsonl").all()
    assert checkpoint.seq == 3 and checkpoint.key_id == HmacKey(b"z" * 32).key_id


def test_a_missing_key_stops_the_gateway_at_start_with_a_named_error(tmp_path):
    audit = {"sink": f"sqlite:///{tmp_path / 'audit.db'}", "checkpoints": {"key_file": str(tmp_path / "none.pem")}}
    governance = Governance(GatewayConfig.model_validate({"audit": audit}))
    with pytest.raises(ConfigError, match="none.pem"):
        governance.audit  # noqa: B018 - building it is the point


def test_a_checkpoint_file_cut_mid_line_by_a_crash_heals_on_the_next_append(tmp_path):
    path = tmp_path / "copy.jsonl"
    copy = FileCheckpoints(path)
    first, second = (sign(KEY, seq, "ab" * 32, 1_700_000_000.0) for seq in (10, 20))
    copy.append(first)
    with open(path, "ab") as file:
        file.write(b'{"seq": 15, "hash": "ab')  # what a crash mid-write leaves
    assert copy.all() == [first]  # an unterminated line is not read
    copy.append(second)
    assert copy.all() == [first, second] and path.read_bytes().count(b"\n") == 2
