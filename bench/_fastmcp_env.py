"""FastMCP's own virtual environment under `bench/.fastmcp-venv`: made on first use with `python -m venv`
and pip from the registry, never in the project's environment (FastMCP may pin another `mcp`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FASTMCP = "fastmcp==4.1.2"  # pinned so recorded runs compare like with like; bump on purpose
VENV = Path(__file__).resolve().parent / ".fastmcp-venv"
PYTHON = VENV / "bin" / "python"


def fastmcp_python() -> Path:
    """The interpreter of FastMCP's environment, created (about a minute) if missing."""
    if not PYTHON.exists():
        print(f"creating {VENV} with {FASTMCP} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = [str(PYTHON), "-c", "import fastmcp; print(fastmcp.__version__)"]
    if subprocess.run(probe, capture_output=True, text=True).stdout.strip() != FASTMCP.split("==")[1]:
        subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", FASTMCP], check=True)
    return PYTHON


def fastmcp_version() -> str:
    probe = [
        str(PYTHON),
        "-c",
        "import fastmcp, mcp.types; import importlib.metadata as m; print(fastmcp.__version__, m.version('mcp'))",
    ]
    return subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()
