"""What checkpoints cost: verifying a large SQLite audit log with and without them, a range, and signing.

Builds N records (default 300,000) in a temporary SQLite file with Ed25519 checkpoints every 1,000
records, then, after one unmeasured pass, interleaved over `--rounds`: the whole chain alone (the
baseline, what `verify` did before checkpoints), the whole chain with its checkpoints checked against the
public key, and a 10,000-record range anchored at a checkpoint. The same comparison on 50,000 records held
in memory (no I/O: the CPU cost of checking checkpoints alone, interleaved over 7 rounds). Also: one
checkpoint (read the head, sign, store) against writing one 500-record batch. Writes
results/audit_verify.json and .md.

    .venv/bin/python bench/audit_verify.py [--records N] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.audit.helpers import make_record as record  # noqa: E402 - the records the audit tests use

from mcp_guard.audit.chain import seal
from mcp_guard.audit.checkpoint import sign
from mcp_guard.audit.checkpoint_keys import Ed25519Signer, verifier_from
from mcp_guard.audit.checkpoint_store import SQLiteCheckpoints
from mcp_guard.audit.checkpointer import Checkpointer
from mcp_guard.audit.config import CheckpointSettings
from mcp_guard.audit.memory_store import MemoryStore
from mcp_guard.audit.sqlite_store import SQLiteStore
from mcp_guard.audit.verify import verify_store

RESULTS = Path(__file__).parent / "results"

BATCH = 500


def build(path: Path, count: int, signer: Ed25519Signer) -> tuple[list[float], list[float]]:
    """The log, checkpoints every 1,000 records; the seconds each batch write and each checkpoint took."""
    store, checkpoints = SQLiteStore(path), SQLiteCheckpoints(path)
    settings = CheckpointSettings(key_env="UNUSED", every_records=1000, every_seconds=10**9)
    checkpointer = Checkpointer(store, checkpoints, signer, settings)
    writes, signs = [], []
    for start in range(1, count + 1, BATCH):
        rows = seal(store.last_link(), [record(n) for n in range(start, min(start + BATCH, count + 1))])
        began = time.perf_counter()
        store.append_batch(rows)
        writes.append(time.perf_counter() - began)
        if rows[-1].seq % 1000 == 0:
            began = time.perf_counter()
            assert checkpointer.tick() is not None
            signs.append(time.perf_counter() - began)
    store.close()
    return writes, signs


def timed(path: Path, **options: object) -> float:
    store = SQLiteStore(path, create=False)
    began = time.perf_counter()
    report = verify_store(store, **options)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - began
    store.close()
    assert report.ok, report.problems[:3]
    return elapsed


def in_memory(signer: Ed25519Signer, rounds: int = 7, count: int = 50_000) -> tuple[float, float]:
    """Median seconds to verify `count` records in memory: the chain alone, and with checkpoints."""
    store = MemoryStore()
    store.append_batch(seal(store.last_link(), [record(n) for n in range(1, count + 1)]))
    checkpoints = [sign(signer, row.seq, row.hash, 1.0) for row in store.records if row.seq % 1000 == 0]
    auditor = verifier_from(signer.public_pem(), "the bench's public key")
    alone, checked = [], []
    for _ in range(rounds):
        began = time.perf_counter()
        assert verify_store(store).ok
        alone.append(time.perf_counter() - began)
        began = time.perf_counter()
        assert verify_store(store, checkpoints, [auditor]).ok
        checked.append(time.perf_counter() - began)
    return statistics.median(alone), statistics.median(checked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    signer = Ed25519Signer(Ed25519PrivateKey.generate())
    auditor = verifier_from(signer.public_pem(), "the bench's public key")  # what an auditor holds
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "audit.db"
        writes, signs = build(path, args.records, signer)
        checkpoints = SQLiteCheckpoints(path, create=False).all()
        middle = args.records // 2 + 500
        variants = {
            "chain only (baseline)": {},
            "chain + checkpoints (Ed25519)": {"checkpoints": checkpoints, "keys": [auditor]},
            "range of 10,000 records": {
                "checkpoints": checkpoints,
                "keys": [auditor],
                "first": middle,
                "last": middle + 9_999,
            },
        }
        seconds: dict[str, list[float]] = {name: [] for name in variants}
        timed(path)  # warm-up: the first pass pays for reading the file into the page cache
        for _ in range(args.rounds):
            for name, options in variants.items():
                seconds[name].append(timed(path, **options))
    memory_alone, memory_checked = in_memory(signer)
    baseline = statistics.median(seconds["chain only (baseline)"])
    result = {
        "records": args.records,
        "checkpoints": len(checkpoints),
        "rounds": args.rounds,
        "verify_seconds_median": {name: statistics.median(values) for name, values in seconds.items()},
        "verify_ratio_to_baseline": {name: statistics.median(values) / baseline for name, values in seconds.items()},
        "in_memory_50k_seconds": {"chain only": memory_alone, "chain + checkpoints": memory_checked},
        "in_memory_ratio": memory_checked / memory_alone,
        "batch_write_ms_median": statistics.median(writes) * 1000,
        "checkpoint_ms_median": statistics.median(signs) * 1000,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "audit_verify.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# audit verify: {args.records:,} records, {len(checkpoints)} checkpoints, median of {args.rounds} rounds",
        "",
        "| verification | seconds | ratio to the chain alone |",
        "|---|---|---|",
        *(
            f"| {name} | {result['verify_seconds_median'][name]:.2f} | {result['verify_ratio_to_baseline'][name]:.3f} |"
            for name in variants
        ),
        "",
        f"In memory, 50,000 records, median of 7 interleaved rounds: chain alone {memory_alone:.3f} s, with 50 "
        f"checkpoints checked {memory_checked:.3f} s (ratio {memory_checked / memory_alone:.3f}).",
        "",
        f"One checkpoint (head read, Ed25519 signature, insert): {result['checkpoint_ms_median']:.2f} ms median; "
        f"one {BATCH}-record batch write: {result['batch_write_ms_median']:.2f} ms median.",
    ]
    (RESULTS / "audit_verify.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
