"""Helpers for tests that run real MCP servers and clients."""
