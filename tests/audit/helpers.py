"""Records and stores for the audit tests."""

from mcp_guard.audit.chain import GENESIS, normalized, seal
from mcp_guard.audit.jsonl_store import JSONLStore
from mcp_guard.audit.memory_store import MemoryStore
from mcp_guard.audit.record import AuditRecord
from mcp_guard.audit.sqlite_store import SQLiteStore

T0 = 1_700_000_000.0


def make_record(n: int = 1, **fields) -> AuditRecord:
    """A plausible record; `n` makes time, ids and cost distinct and increasing."""
    values = dict(
        time=T0 + n,
        request_id=f"req-{n}",
        call_id=f"call-{n}",
        server="notes",
        tool="search",
        decision="allowed",
        outcome="ok",
        key_id="key-1",
        key_name="alice",
        roles=("reader",),
        team="eng",
        customer="acme",
        arguments={"query": f"q{n}"},
        cost=0.01,
        duration_ms=12.5,
    )
    values.update(fields)
    return normalized(AuditRecord(**values))


def sealed(count: int, head=GENESIS, start: int = 1):
    return seal(head, [make_record(n) for n in range(start, start + count)])


def open_backend(kind: str, tmp_path):
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "audit.db")
    return JSONLStore(tmp_path / "audit.jsonl")
