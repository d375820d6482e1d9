"""Upstream servers changed while the gateway runs: through the admin API (`POST /mcp/servers`, ...), kept
in a shared store that every gateway process follows (`store.py`), and applied to the running gateway
without dropping sessions or calls in flight (`manager.py`), as a reloaded configuration file is too."""
