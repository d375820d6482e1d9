"""Packaging, once per run: the sdist builds, the wheel builds from it, the wheel installs in a fresh virtualenv
with every extra, and from outside the checkout the README's standalone configuration and snippets run
against the installed wheel, and the Containerfile's command serves as a non-root user.

The virtualenv is new each run; pip's cache makes the install a local copy after the first run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from mcp_guard.auth.keys import generate_key, hash_key
from tests.adapters.snippets import marked_snippets
from tests.support.processes import ServerProcess, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
EXTRAS = ["fastapi", "litestar", "starlette", "redis", "postgres", "codemode"]
README = {snippet.name: snippet for snippet in marked_snippets(REPO_ROOT / "README.md")}


@dataclass(frozen=True)
class Installed:
    root: Path  # readable by every user: the non-root check runs from here
    venv: Path
    wheel: Path
    sdist: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """An activated virtualenv's environment, with nothing of the checkout on the module path."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return {**env, "PATH": f"{self.bin}{os.pathsep}{env.get('PATH', '')}", "VIRTUAL_ENV": str(self.venv), **extra}


def run(argv: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{argv}:\n{done.stdout}\n{done.stderr}"
    return done  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def installed() -> Iterator[Installed]:
    root = Path(tempfile.mkdtemp(prefix="mcp-guard-wheel-"))
    root.chmod(0o755)
    try:
        dist = root / "dist"
        # sdist first, then the wheel built from the unpacked sdist: a file missing from the sdist fails here
        run([sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, REPO_ROOT])
        [wheel], [sdist] = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
        venv = root / "venv"
        run([sys.executable, "-m", "venv", venv])
        # --no-compile: byte-compiling every installed module would be most of the install's time
        pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-compile"]
        run([*pip, f"{wheel}[{','.join(EXTRAS)}]", "mcp-server-time"])
        yield Installed(root, venv, wheel, sdist)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_wheel_holds_the_package_the_adapters_and_every_extra(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        extras = set(re.findall(r"^Provides-Extra: (\S+)$", wheel.read(metadata).decode(), re.MULTILINE))
    for package in ("mcp_guard", "mcp_guard_fastapi", "mcp_guard_litestar", "mcp_guard_starlette"):
        assert f"{package}/__init__.py" in names and f"{package}/py.typed" in names
    assert "mcp_guard/codemode/prelude.js" in names  # a data file, not only modules
    assert {"mcp_guard/ui/templates/base.html", "mcp_guard/ui/static/style.css"} <= names  # the dashboard's
    assert set(EXTRAS) <= extras
    imports = (
        "import mcp_guard, mcp_guard_fastapi, mcp_guard_litestar, mcp_guard_starlette, redis, psycopg, py_mini_racer"
    )
    where = run([installed.bin / "python", "-c", f"{imports}; print(mcp_guard.__file__)"], cwd=installed.root)
    assert where.stdout.strip().startswith(str(installed.venv))  # the wheel, not the checkout
    run([installed.bin / "python", "-m", "pip", "check"])


def test_the_readme_standalone_lines_run_against_the_wheel(installed: Installed, tmp_path: Path) -> None:
    work = tmp_path / "standalone"
    work.mkdir()
    (work / "gateway.yaml").write_text(README["readme-gateway.yaml"].code)
    port = free_port()
    lines = [
        line.replace("8000", str(port))
        for line in README["readme-standalone"].code.splitlines()
        if not line.startswith(("source ", "pip install "))  # done above: the fresh virtualenv, with mcp-server-time
    ]
    script = "set -e\n" + "\n".join(lines) + "\nkill %1\n"
    done = run(["bash", "-c", script], cwd=work, env=installed.env())
    assert "configuration OK: 2 server(s)" in done.stdout and "connected" in done.stdout
    listed = done.stdout[done.stdout.index('{"tools"') :]
    assert '"name":"demo__word_count"' in listed and '"name":"time__get_current_time"' in listed


@pytest.mark.parametrize("name", ["readme-fastapi", "readme-litestar", "readme-starlette"])
def test_each_readme_snippet_runs_against_the_wheel(installed: Installed, name: str, tmp_path: Path) -> None:
    (tmp_path / "gateway.yaml").write_text(README["readme-gateway.yaml"].code)
    (tmp_path / "snippet_app.py").write_text(README[name].code)
    key = generate_key()
    port = free_port()
    argv = [str(installed.bin / "uvicorn"), "snippet_app:app", "--host", "127.0.0.1", "--port", str(port)]
    env = installed.env(MCPG_ADMIN_KEY_HASH=hash_key(key))
    with ServerProcess(argv, port=port, env=env, cwd=tmp_path) as server:
        assert httpx2.get(f"{server.base_url}/me").status_code == 401
        assert httpx2.get(f"{server.base_url}/me", headers={"x-api-key": key}).json() == {"key": "admin"}
        tools = httpx2.get(f"{server.url}/tools", headers={"x-api-key": key}).json()["tools"]
        login = httpx2.get(f"{server.url}/ui/login")  # the dashboard's templates, from the installed wheel
        assert login.status_code == 200 and 'name="key"' in login.text
    assert {"demo__word_count", "time__get_current_time"} <= {tool["name"] for tool in tools}


def test_the_container_command_serves_as_a_non_root_user(installed: Installed) -> None:
    containerfile = (REPO_ROOT / "Containerfile").read_text()
    user = re.search(r"^USER (\S+)$", containerfile, re.MULTILINE)
    assert user is not None and user[1] not in ("root", "0")
    config_source, config_path = re.search(r"^COPY (deploy/\S+) (\S+)$", containerfile, re.MULTILINE).groups()  # type: ignore[union-attr]
    command = re.search(r"^CMD (\[.*\])$", containerfile, re.MULTILINE)
    assert command is not None
    argv = [part.strip('" ') for part in command[1].strip("[]").split(",")]
    assert argv[:3] == ["mcp-guard", "serve", config_path]
    work = installed.root / "work"  # the image's WORKDIR: owned by the unprivileged user
    work.mkdir()
    config = installed.root / "gateway.yaml"
    shutil.copy(REPO_ROOT / config_source, config)
    config.chmod(0o644)
    port = free_port()
    argv = [str(installed.bin / "mcp-guard"), "serve", str(config), "--host", "127.0.0.1", "--port", str(port)]
    if os.geteuid() == 0:  # as root here: drop to `nobody`, as the image's USER line does
        shutil.chown(work, "nobody")
        argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", *argv]
    key = generate_key()
    env = installed.env(MCPG_ADMIN_KEY_HASH=hash_key(key), HOME=str(work))
    with ServerProcess(argv, port=port, env=env, cwd=work) as server:
        tools = httpx2.get(f"{server.url}/tools", headers={"x-api-key": key}).json()["tools"]
        login = httpx2.get(f"{server.url}/ui/login")  # the dashboard's templates, from the installed wheel
        assert login.status_code == 200 and 'name="key"' in login.text
        uid = _uid_of(server.pid)
    assert {tool["name"] for tool in tools} == {"demo__convert_currency", "demo__word_count"}
    assert uid != 0, "mcp-guard serve ran as root"
    assert (work / "keys.db").exists()  # its state goes to the working directory (the image's volume)


def _uid_of(pid: int | None) -> int:
    """The real uid of the serving process (a child of setpriv's exec: the same pid)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE)[1])  # type: ignore[index]
