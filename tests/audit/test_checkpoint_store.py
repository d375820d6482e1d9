"""Every checkpoint store: `add` stores a checkpoint only ahead of what is stored, atomically, also when
several writers (threads here, processes in production) add the same head at once."""

import threading

import pytest

from mcp_guard.audit.checkpoint import HmacKey, sign
from mcp_guard.audit.checkpoint_store import open_checkpoints

from .helpers import drop_backend, open_backend
from .tamper import sink_uri

KEY = HmacKey(b"k" * 32)


@pytest.fixture(params=["memory", "sqlite", "jsonl", "postgres"])
def checkpoints(request, tmp_path):
    open_backend(request.param, tmp_path).close()  # skips without PostgreSQL
    store = open_checkpoints("memory://" if request.param == "memory" else sink_uri(request.param, tmp_path))
    yield store
    store.close()
    drop_backend(request.param, tmp_path)


def at(seq, time=1_700_000_000.0):
    return sign(KEY, seq, f"{seq:064x}", time)


def test_add_stores_only_ahead_of_what_is_stored(checkpoints):
    assert checkpoints.last() is None and checkpoints.all() == []
    assert checkpoints.add(at(10)) and not checkpoints.add(at(10, 1_700_000_001.0)) and not checkpoints.add(at(5))
    assert checkpoints.add(at(20))
    assert checkpoints.all() == [at(10), at(20)] and checkpoints.last() == at(20)


def test_writers_adding_one_head_at_once_store_it_once(checkpoints):
    results: list[bool] = []
    start = threading.Barrier(6)

    def add(index):
        start.wait()
        results.append(checkpoints.add(at(7, 1_700_000_000.0 + index)))

    threads = [threading.Thread(target=add, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True] and len(checkpoints.all()) == 1
