"""Tokens and retrieval of Code Mode discovery at 100, 1,000 and 5,000 tools (20 tools per server).

For each catalog size (`codemode_catalog.catalog`: the realistic servers of `codemode_fixtures`, then
distractor servers) it counts, with tiktoken `o200k_base`:

- the tool definitions sent with every request: the classic catalog (`CatalogEntry.openai` of every tool)
  against Code Mode's four meta-tools, both as OpenAI function JSON;
- `listToolFiles`'s answer and one full `.d.ts` file (what reading everything would cost);
- a scripted task per query of `codemode_catalog.QUERIES`: the meta-tool definitions, one `searchTools`
  answer (detail "signatures", 5 results) and, when the right tool is among them, one `readToolFile` of
  that method at detail "full": the definitions plus discovery reads a model pays for the task.

Retrieval: the share of queries whose tool is in the top 5 (and first). Declaration generation: the time to
build the discovery index (done once per catalog change, in a thread), the longest stall of the event loop
while it is built in the background, and the slowest `searchTools` / `readToolFile` answer.

    .venv/bin/python bench/codemode_tokens.py

tiktoken downloads `o200k_base` on first use. Where only the package registries are reachable, this
script rebuilds the same file from the npm package `tiktoken` (its `encoders/o200k_base.json`), fetched
with `npm pack`, into tiktoken's cache; tiktoken then checks the file against its own SHA-256 before
using it, so the counts are those of the real encoding.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import mcp_types as types
import tiktoken

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import run_label, write_result  # noqa: E402
from codemode_catalog import SIZES, catalog, queries_for  # noqa: E402

from mcp_guard.catalog import CatalogEntry, openai_function  # noqa: E402
from mcp_guard.codemode import ReadRequest, SearchRequest, ToolIndex, meta_tools, tool_files  # noqa: E402
from mcp_guard.names import NameTable, ToolRef  # noqa: E402

O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
NPM_PACKAGE = "tiktoken@1.0.22"


def o200k() -> tiktoken.Encoding:
    """tiktoken's `o200k_base`, rebuilt from the npm registry when its download host is unreachable."""
    try:
        return tiktoken.get_encoding("o200k_base")
    except Exception:  # no route to the download host
        pass
    cache = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or Path.home() / ".cache" / "mcp-guard" / "tiktoken")
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / hashlib.sha1(O200K_URL.encode()).hexdigest()
    if not target.exists():
        target.write_text(_ranks_from_npm())
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    return tiktoken.get_encoding("o200k_base")  # verifies the file's SHA-256


def _ranks_from_npm() -> str:
    """`o200k_base.tiktoken` text from the npm package's compact rank list ("! <offset> <b64> <b64> ...")."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", NPM_PACKAGE, "--silent"], cwd=tmp, check=True, capture_output=True)
        archive = next(Path(tmp).glob("tiktoken-*.tgz"))
        with tarfile.open(archive) as tar:
            member = tar.extractfile("package/encoders/o200k_base.json")
            if member is None:
                raise RuntimeError(f"{NPM_PACKAGE} has no encoders/o200k_base.json")
            data = json.load(member)
    ranks: dict[bytes, int] = {}
    for line in data["bpe_ranks"].split("\n"):
        if not line:
            continue
        _, offset, *tokens = line.split(" ")
        for index, token in enumerate(tokens):
            ranks[base64.b64decode(token)] = int(offset) + index
    return "".join(f"{base64.b64encode(k).decode()} {v}\n" for k, v in sorted(ranks.items(), key=lambda kv: kv[1]))


def catalog_entries(servers: list[tuple[str, list[dict[str, Any]]]]) -> list[CatalogEntry]:
    tools = {
        ToolRef(server, spec["name"]): types.Tool.model_validate(spec) for server, specs in servers for spec in specs
    }
    names = NameTable(tools)
    return [CatalogEntry(ref, names.name_of(ref), tool) for ref, tool in sorted(tools.items())]


def count(encoding: tiktoken.Encoding, text: str) -> int:
    return len(encoding.encode(text, disallowed_special=()))


def measure_size(encoding: tiktoken.Encoding, size: int) -> dict[str, Any]:
    servers = catalog(size)
    entries = catalog_entries(servers)
    started = time.perf_counter()
    index = ToolIndex(entries)
    build_ms = (time.perf_counter() - started) * 1000.0
    meta = count(encoding, json.dumps([openai_function(t) for t in meta_tools()]))
    tasks, hits, firsts, slowest = [], 0, 0, 0.0
    for query, target in queries_for(servers):
        t0 = time.perf_counter()
        answer = index.search(entries, SearchRequest(query, 5, "signatures"))
        ranked = [str(e.ref) for e in index.ranked(entries, query, 5)]
        tokens = meta + count(encoding, answer)
        if target in ranked:
            hits += 1
            firsts += ranked[0] == target
            server, tool = target.split("/", 1)
            read = index.read_file(entries, ReadRequest(server, "full", (tool,)))
            tokens += count(encoding, read)
        slowest = max(slowest, (time.perf_counter() - t0) * 1000.0)
        tasks.append(tokens)
    files = tool_files(entries[:40])  # one realistic server's file, as a full read costs
    return {
        "tools": len(entries),
        "servers": len(servers),
        "classic_tokens": count(encoding, json.dumps([e.openai for e in entries])),
        "meta_tool_tokens": meta,
        "list_tool_files_tokens": count(encoding, index.list_files(entries)),
        "one_dts_tokens": count(encoding, next(iter(files.values()))),
        "task_tokens_max": max(tasks),
        "task_tokens_mean": round(sum(tasks) / len(tasks)),
        "queries": len(tasks),
        "top5_percent": round(100.0 * hits / len(tasks), 1),
        "top1_percent": round(100.0 * firsts / len(tasks), 1),
        "index_build_ms": round(build_ms, 1),
        "slowest_discovery_ms": round(slowest, 2),
        "event_loop_stall_ms": round(asyncio.run(_stall_while_building(entries)), 2),
    }


async def _stall_while_building(entries: list[CatalogEntry]) -> float:
    """The longest a 1 ms timer on the event loop was late while the index was built in a thread."""
    worst, stop = 0.0, False

    async def tick() -> None:
        nonlocal worst
        while not stop:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, (time.perf_counter() - before) * 1000.0 - 1.0)

    ticker = asyncio.ensure_future(tick())
    await asyncio.sleep(0.05)
    await asyncio.to_thread(ToolIndex, entries)
    stop = True
    await ticker
    return worst


def main() -> None:
    encoding = o200k()
    rows = [measure_size(encoding, size) for size in SIZES]
    columns = list(rows[0])
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(str(row[c]) for c in columns))
    path = write_result(
        "codemode_tokens",
        {
            **run_label(),
            "encoding": "o200k_base",
            "what": "per catalog size: definitions sent with every request (classic vs the meta-tools), what "
            "discovery reads cost per scripted task (meta-tools + searchTools + one readToolFile), retrieval "
            "of a fixed query set, and the cost of building the discovery index",
            "rows": rows,
        },
    )
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
