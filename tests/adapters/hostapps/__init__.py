"""Three realistic host apps (FastAPI, Litestar, Starlette) with their own tests, as a team would have them
before adding mcp-guard: see `suite.py`."""
