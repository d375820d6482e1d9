import pytest

from .helpers import drop_backend, open_backend


@pytest.fixture(params=["memory", "sqlite", "jsonl", "postgres"])
def store(request, tmp_path):
    backend = open_backend(request.param, tmp_path)
    yield backend
    backend.close()
    drop_backend(request.param, tmp_path)
