"""`httptools` for the benchmark's servers, kept out of every environment: `pip install --target
bench/.httptools` once, then put on `PYTHONPATH` of the processes that should use it. uvicorn picks it
over h11 by itself when it can import it (`http="auto"`), which is what `uvicorn[standard]` installs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HTTPTOOLS = "httptools==0.9.0"
TARGET = Path(__file__).resolve().parent / ".httptools"


def httptools_path() -> Path:
    """The directory to add to `PYTHONPATH`, installed (a few seconds) if missing."""
    if not (TARGET / "httptools").is_dir():
        print(f"installing {HTTPTOOLS} into {TARGET} ...", flush=True)
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(TARGET), HTTPTOOLS]
        subprocess.run(command, check=True)
    return TARGET
