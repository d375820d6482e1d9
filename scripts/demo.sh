#!/usr/bin/env bash
# Set up (first run only) and start the demo gateway on embedded defaults: http://127.0.0.1:8000/mcp
# MCP_GUARD_DEMO_KEY=<key> fixes the demo's admin key (see `.venv/bin/mcp-guard demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "mcp-guard is installed in .venv: run .venv/bin/mcp-guard, or 'source .venv/bin/activate' and then mcp-guard"
exec .venv/bin/mcp-guard demo "$@"
