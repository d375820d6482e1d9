"""`mcp-guard audit verify` and `mcp-guard audit tail`: read a stored audit log from the command line.

Both open the store read-only (`create=False`), so a mistyped path is an error instead of a new, empty
log that verifies. Exit codes: 0 fine, 1 the chain has problems, 2 the store cannot be read.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from ..errors import ConfigError
from .backends import open_store
from .chain import SealedRecord
from .config import AuditSettings
from .query import RecordFilter
from .store import AuditStoreError
from .verify import VerifyReport, verify_store

DEFAULT_SINK: str = AuditSettings.model_fields["sink"].default


def add_audit_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `audit verify` and `audit tail` to a command line's subparsers; each sets `run(args) -> int`."""
    audit = subparsers.add_parser("audit", help="verify or read the audit log")
    commands = audit.add_subparsers(required=True, metavar="COMMAND")

    verify = commands.add_parser("verify", help="check the hash chain: edited, deleted or reordered records")
    _add_sink_option(verify)
    verify.set_defaults(run=run_verify)

    tail = commands.add_parser("tail", help="print the newest records, oldest of them first")
    _add_sink_option(tail)
    tail.add_argument("-n", "--lines", type=int, default=20, metavar="N", help="how many records (default 20)")
    tail.add_argument("-f", "--follow", action="store_true", help="keep printing new records until interrupted")
    tail.add_argument("--interval", type=float, default=1.0, help="seconds between checks with --follow")
    tail.set_defaults(run=run_tail)


def _add_sink_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sink", default=DEFAULT_SINK, metavar="URI", help=f"audit storage (default {DEFAULT_SINK})")


def run_verify(args: argparse.Namespace) -> int:
    """Print "OK: N records, chain intact" (exit 0) or every problem with its seq and kind (exit 1)."""
    try:
        report = _verify(args.sink)
    except AuditStoreError as exc:
        print(f"mcp-guard audit: {exc}", file=sys.stderr)
        return 2
    _print_report(report)
    return 0 if report.ok else 1


def run_tail(args: argparse.Namespace) -> int:
    """Print the last `-n` records; with `--follow`, then every new one as it is written."""
    store = open_store(args.sink, create=False)
    try:
        last_seq = _print_rows(reversed(store.query(RecordFilter(limit=max(args.lines, 0) or None))), 0)
        while args.follow:
            time.sleep(args.interval)
            last_seq = _print_rows(reversed(store.query(RecordFilter(after_seq=last_seq))), last_seq)
    except AuditStoreError as exc:
        print(f"mcp-guard audit: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass  # how --follow ends
    finally:
        store.close()
    return 0


def format_record(row: SealedRecord) -> str:
    """One line: time (UTC), decision, key name, server/tool, outcome (and reason), cost, duration."""
    record = row.record
    when = datetime.fromtimestamp(record.time, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    tool = f"{record.server}/{record.tool}" if record.server else record.tool
    outcome = f"{record.outcome} ({record.reason})" if record.reason else record.outcome
    return (
        f"{when}  {record.decision:<7}  {record.key_name or '-':<16}  {tool:<32}  {outcome:<12}  "
        f"${record.cost:.4f}  {record.duration_ms:.1f}ms"
    )


def _verify(uri: str) -> VerifyReport:
    store = open_store(uri, create=False)
    try:
        return verify_store(store)
    finally:
        store.close()


def _print_report(report: VerifyReport) -> None:
    if report.anchor is not None:
        print(f"chain starts after the retention anchor at seq {report.anchor.seq}")
    for problem in report.problems:
        print(problem)
    if report.ok:
        print(f"OK: {report.checked} records, chain intact")
    else:
        print(f"FAILED: {report.checked} records checked, {len(report.problems)} problem(s)")


def _print_rows(rows: Iterable[SealedRecord], last_seq: int) -> int:
    for row in rows:
        print(format_record(row), flush=True)
        last_seq = max(last_seq, row.seq)
    return last_seq


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m mcp_guard.audit.cli audit verify ...`: the commands without the rest of the CLI."""
    parser = argparse.ArgumentParser(prog="mcp-guard")
    add_audit_commands(parser.add_subparsers(required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"mcp-guard: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
