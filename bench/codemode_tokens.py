"""Tokens of the tool definitions a model is sent: the classic catalog vs. Code Mode's three meta-tools.

Classic: the OpenAI function definition of every tool, exactly as the gateway builds it
(`CatalogEntry.openai`, exposed names from `names.py`). Code Mode: the three meta-tools in the same
format. Both are serialised as JSON and counted with tiktoken `o200k_base`, for the first 1, 5 and 10
servers of `codemode_fixtures.SERVERS` (realistic catalogs of published servers, about 20 tools each).
What a Code Mode session then reads on demand (the `listToolFiles` answer, one `.d.ts` file) is
reported too, for honesty: it is paid per task, only for the servers used, and not on every turn.

    .venv/bin/python bench/codemode_tokens.py

tiktoken downloads `o200k_base` on first use. Where only the package registries are reachable, this
script rebuilds the same file from the npm package `tiktoken` (its `encoders/o200k_base.json`), fetched
with `npm pack`, into tiktoken's cache; tiktoken then checks the file against its own SHA-256 before
using it, so the counts are those of the real encoding.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import mcp_types as types
import tiktoken

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import run_label, write_result  # noqa: E402
from codemode_fixtures import SERVERS  # noqa: E402

from mcp_guard.catalog import CatalogEntry  # noqa: E402
from mcp_guard.codemode import list_tool_files, meta_tools, tool_files  # noqa: E402
from mcp_guard.names import NameTable, ToolRef  # noqa: E402

O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
NPM_PACKAGE = "tiktoken@1.0.22"
SIZES = (1, 5, 10)


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


def catalog(servers: list[tuple[str, list[dict[str, Any]]]]) -> list[CatalogEntry]:
    tools = {
        ToolRef(server, spec["name"]): types.Tool.model_validate(spec) for server, specs in servers for spec in specs
    }
    names = NameTable(tools)
    return [CatalogEntry(ref, names.name_of(ref), tool) for ref, tool in sorted(tools.items())]


def openai_definitions(tools: list[types.Tool]) -> list[dict[str, Any]]:
    return [
        {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.input_schema}}
        for t in tools
    ]


def measure(encoding: tiktoken.Encoding) -> list[dict[str, Any]]:
    code_mode = len(encoding.encode(json.dumps(openai_definitions(meta_tools()))))
    rows = []
    for count in SIZES:
        entries = catalog(SERVERS[:count])
        classic = len(encoding.encode(json.dumps([e.openai for e in entries])))
        files = tool_files(entries)
        file_tokens = [len(encoding.encode(text)) for text in files.values()]
        rows.append(
            {
                "servers": count,
                "tools": len(entries),
                "classic_tokens": classic,
                "code_mode_tokens": code_mode,
                "reduction_percent": round(100.0 * (1 - code_mode / classic), 1),
                "list_tool_files_tokens": len(encoding.encode(list_tool_files(files))),
                "dts_tokens_total": sum(file_tokens),
                "dts_tokens_per_file_avg": round(sum(file_tokens) / len(file_tokens)),
            }
        )
    return rows


def main() -> None:
    rows = measure(o200k())
    columns = [
        ("servers", 7),
        ("tools", 5),
        ("classic", 8),
        ("code mode", 9),
        ("fewer", 7),
        ("list", 6),
        ("1 .d.ts", 8),
        ("all .d.ts", 9),
    ]
    print(" ".join(f"{name:>{width}}" for name, width in columns))
    for r in rows:
        print(
            f"{r['servers']:>7} {r['tools']:>5} {r['classic_tokens']:>8} {r['code_mode_tokens']:>9} "
            f"{r['reduction_percent']:>6}% {r['list_tool_files_tokens']:>6} {r['dts_tokens_per_file_avg']:>8} "
            f"{r['dts_tokens_total']:>9}"
        )
    path = write_result(
        "codemode_tokens",
        {
            **run_label(),
            "encoding": "o200k_base",
            "what": "tokens of the tool definitions sent with every request (OpenAI function JSON); 'list' and "
            "'.d.ts' columns are what Code Mode reads on demand, per task",
            "rows": rows,
        },
    )
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
