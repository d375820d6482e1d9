from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import ServerProcess, free_port

from .scripts import SCRIPTS

SCRIPTED_LLM = Path(__file__).resolve().parent / "scripted_llm.py"
API_KEY = "sk-scripted-test-key"


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The scripted OpenAI-compatible server, one process for the whole session."""
    scripts = tmp_path_factory.mktemp("llm") / "scripts.json"
    scripts.write_text(json.dumps(SCRIPTS))
    port = free_port()
    argv = [sys.executable, str(SCRIPTED_LLM), "--port", str(port), "--scripts", str(scripts)]
    with ServerProcess(argv, port=port, path="/v1") as server:
        yield server


@pytest.fixture
def llm(llm_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> ServerProcess:
    """The server, with the provider's API key in the environment as the configuration names it."""
    monkeypatch.setenv("SCRIPTED_LLM_KEY", API_KEY)
    return llm_server
