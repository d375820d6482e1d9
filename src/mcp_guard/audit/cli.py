"""`mcp-guard audit verify` and `mcp-guard audit tail`: read a stored audit log from the command line.

Both open the store read-only (`create=False`), so a mistyped path is an error instead of a new, empty
log that verifies. Exit codes: 0 fine, 1 the chain has problems, 2 the store, a checkpoint key or the
arguments cannot be used.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TextIO

from ..errors import ConfigError
from .backends import open_store
from .chain import SealedRecord
from .checkpoint import Verifier
from .checkpoint_keys import read_key_material, verifier_from
from .checkpoint_store import FileCheckpoints, open_checkpoints
from .config import AuditSettings
from .query import RecordFilter
from .store import AuditStoreError
from .verify import VerifyReport, verify_store

DEFAULT_SINK: str = AuditSettings.model_fields["sink"].default


def add_audit_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Add `audit verify` and `audit tail` to a command line's subparsers; each sets `run(args) -> int`.
    Returns the `audit` command's subparsers, for commands defined elsewhere (`audit reconcile`)."""
    audit = subparsers.add_parser("audit", help="verify or read the audit log")
    commands = audit.add_subparsers(required=True, metavar="COMMAND")

    verify = commands.add_parser(
        "verify", help="check the hash chain and its signed checkpoints: edited, deleted, reordered, cut, re-sealed"
    )
    _add_sink_option(verify)
    _add_verify_options(verify)
    verify.set_defaults(run=run_verify)

    tail = commands.add_parser("tail", help="print the newest records, oldest of them first")
    _add_sink_option(tail)
    tail.add_argument("-n", "--lines", type=int, default=20, metavar="N", help="how many records (default 20)")
    tail.add_argument("-f", "--follow", action="store_true", help="keep printing new records until interrupted")
    tail.add_argument("--interval", type=float, default=1.0, help="seconds between checks with --follow")
    tail.set_defaults(run=run_tail)
    return commands


def _add_sink_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sink", default=DEFAULT_SINK, metavar="URI", help=f"audit storage (default {DEFAULT_SINK})")


def _add_verify_options(verify: argparse.ArgumentParser) -> None:
    keys = "repeat it for every key that signed checkpoints (after a rotation)"
    verify.add_argument(
        "--key-file",
        action="append",
        default=[],
        metavar="PATH",
        help=f"checkpoint key: Ed25519 public (or private) key PEM, or the HMAC secret; {keys}",
    )
    verify.add_argument("--key-env", action="append", default=[], metavar="NAME", help="the same, from a variable")
    verify.add_argument(
        "--checkpoints",
        action="append",
        default=[],
        metavar="PATH",
        help="also a copy of the checkpoints kept elsewhere (audit.checkpoints.copy_to, or what a webhook received)",
    )
    verify.add_argument(
        "--from",
        dest="first",
        type=_seq,
        metavar="N",
        help="verify from seq N (anchored at the last checkpoint before it)",
    )
    verify.add_argument("--to", dest="last", type=_seq, metavar="M", help="verify up to seq M")
    verify.add_argument("--progress", action="store_true", help="report progress on stderr (default: on a terminal)")


def _seq(text: str) -> int:
    """A position in the chain: 1 to 2**63 - 1 (what SQLite and PostgreSQL store)."""
    try:
        seq = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= seq < 2**63:
        raise argparse.ArgumentTypeError(f"{text!r} is not a seq (1 to 2**63 - 1)")
    return seq


def run_verify(args: argparse.Namespace) -> int:
    """Print the problems (exit 1) or "OK" (exit 0), with the head and the last checkpoint."""
    if args.first is not None and args.last is not None and args.first > args.last:
        print(f"mcp-guard audit: --from {args.first} is after --to {args.last}", file=sys.stderr)
        return 2
    try:
        keys = [verifier_from(*read_key_material(key_file=path)) for path in args.key_file]
        keys += [verifier_from(*read_key_material(key_env=name)) for name in args.key_env]
        progress = ProgressLine(sys.stderr) if args.progress or sys.stderr.isatty() else None
        report = _verify(args, keys, progress)
    except AuditStoreError as exc:
        print(f"mcp-guard audit: {exc}", file=sys.stderr)
        return 2
    _print_report(report, args.first, args.last)
    if keys and not report.trusted and report.head.seq:
        print("warning: no valid checkpoint: if audit.checkpoints is on, they were deleted (compare a copy)")
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


def _verify(args: argparse.Namespace, keys: list[Verifier], progress: ProgressLine | None) -> VerifyReport:
    store = open_store(args.sink, create=False)
    stored = open_checkpoints(args.sink, create=False)
    try:
        checkpoints = stored.all()
        for path in args.checkpoints:
            if not os.path.isfile(path):
                raise AuditStoreError(f"checkpoint copy {path!r} does not exist")
            checkpoints += FileCheckpoints(path).all()
        return verify_store(store, set(checkpoints), keys, first=args.first, last=args.last, progress=progress)
    finally:
        store.close()
        stored.close()
        if progress is not None:
            progress.end()


def _print_report(report: VerifyReport, first: int | None, last: int | None) -> None:
    if first is not None or last is not None:
        where = "genesis" if report.anchor is None else f"seq {report.anchor.seq}"
        print(f"range: seqs {first or 1}..{'end' if last is None else last}, verified from {where}")
    elif report.anchor is not None:
        print(f"chain starts after the retention anchor at seq {report.anchor.seq}")
    for problem in report.problems:
        print(problem)
    print(f"head: seq {report.head.seq}, hash {report.head.hash}")
    if report.checkpoint is None:
        print("last checkpoint: none (without audit.checkpoints a cut end or a re-sealed chain is not seen)")
    else:
        print(f"last checkpoint: {report.checkpoint.describe()}")
        if report.uncovered:
            print(f"after the last checkpoint: {report.uncovered} records (not covered yet: a cut there is not seen)")
    if report.ok:
        matched = f", {len(report.trusted)} checkpoint(s) match" if report.trusted else ""
        print(f"OK: {report.checked} records, chain intact{matched}")
    else:
        print(f"FAILED: {report.checked} records checked, {len(report.problems)} problem(s)")


class ProgressLine:
    """`verified N of M records` on stderr at most once a second (or every 50,000 records) and once at the
    end: rewritten in place on a terminal, one line each otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self._stream, self._tty = stream, stream.isatty()
        self._shown_at, self._shown = time.monotonic(), 0
        self._latest = (0, 0)

    def __call__(self, done: int, expected: int) -> None:
        self._latest = (done, expected)
        if done - self._shown >= 50_000 or time.monotonic() - self._shown_at >= 1.0:
            self._show(done, expected, "\r" if self._tty else "\n")

    def end(self) -> None:
        """The final count, on a line of its own."""
        done, expected = self._latest
        if done > self._shown or (self._tty and self._shown):
            self._show(done, expected, "\n")

    def _show(self, done: int, expected: int, end: str) -> None:
        share = f" ({100 * done // expected}%)" if expected and done <= expected else ""
        self._stream.write(f"verified {done:,} of {expected:,} records{share}{end}")
        self._stream.flush()
        self._shown_at, self._shown = time.monotonic(), done


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
