#!/usr/bin/env bash
# Create .venv (once) and install mcp-guard into it with Code Mode; `--test` also installs the test extras.
# Safe to run again: it only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
extras="[codemode]"
if [ "${1:-}" = "--test" ]; then extras="[test,codemode]"; fi

stamp=".venv/.installed-${1:-demo}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".${extras}"
    touch "$stamp"
fi
# The npm test peers (tests/node) are installed by the test suite itself on first use.
