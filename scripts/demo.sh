#!/usr/bin/env bash
# Set up (first run only) and start the demo gateway on embedded defaults: http://127.0.0.1:8000/mcp
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/mcp-guard demo "$@"
