import pytest

from .helpers import open_backend


@pytest.fixture(params=["memory", "sqlite", "jsonl"])
def store(request, tmp_path):
    backend = open_backend(request.param, tmp_path)
    yield backend
    backend.close()
