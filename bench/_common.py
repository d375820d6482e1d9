"""What every benchmark shares: where results go, how the run is labelled, and how tables are printed."""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def run_label() -> dict[str, str]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"shared {os.cpu_count()}-core VM (noisy: run twice)",
    }


def write_result(name: str, result: dict[str, Any], markdown: str | None = None) -> Path:
    """`bench/results/<name>.json`, and `<name>.md` when a Markdown summary is given."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    if markdown is not None:
        (RESULTS / f"{name}.md").write_text(markdown)
    return path


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table; numbers are printed as given."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """The same table for a terminal, columns aligned."""
    cells = [list(map(str, headers)), *[[str(cell) for cell in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def summary_ms(samples_ms: Sequence[float]) -> dict[str, float]:
    """p50 / p90 / p99 of latencies in milliseconds."""
    if len(samples_ms) < 2:
        value = round(samples_ms[0], 3) if samples_ms else float("nan")
        return {"p50_ms": value, "p90_ms": value, "p99_ms": value}
    q = statistics.quantiles(samples_ms, n=100)
    return {"p50_ms": round(q[49], 3), "p90_ms": round(q[89], 3), "p99_ms": round(q[98], 3)}


def markdown_report(title: str, label: dict[str, str], body: str) -> str:
    """A results file: title, when and where, then the tables and notes."""
    return f"# {title}\n\n{label['date']} · {label['machine']}\n\n{body}"
