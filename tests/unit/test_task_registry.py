"""The gateway's task ids (`router/tasks.py`): namespaced by server, bound to the key that created them,
forgotten when their upstream's `ttl` has passed, bounded in number."""

import mcp_types as types
import pytest

from mcp_guard.names import ToolRef
from mcp_guard.router import tasks as module
from mcp_guard.router.tasks import TaskRegistry, _renamed
from tests.support.clock import ManualClock

REF = ToolRef("everything", "simulate-research-query")


def task(upstream_id: str = "up-1", ttl: int | None = 60_000) -> types.Task:
    stamp = "2026-12-07T09:00:00Z"
    return types.Task(task_id=upstream_id, status="working", created_at=stamp, last_updated_at=stamp, ttl=ttl)


def test_an_id_names_its_server_and_is_known_only_to_the_key_that_created_it():
    registry = TaskRegistry(ManualClock())
    task_id = registry.add("alice", REF, task())
    assert task_id.startswith("everything.") and "up-1" not in task_id
    owned = registry.owned(task_id, "alice")
    assert owned is not None and owned.upstream_id == "up-1" and owned.ref == REF
    assert registry.owned(task_id, "bob") is None
    assert registry.owned(task_id, None) is None
    assert list(registry.of("alice")) == [task_id] and registry.of("bob") == {}


def test_a_task_is_forgotten_once_its_ttl_has_passed_and_one_without_ttl_after_a_day():
    clock = ManualClock()
    registry = TaskRegistry(clock)
    short = registry.add("alice", REF, task("a", ttl=1_000))
    forever = registry.add("alice", REF, task("b", ttl=None))
    clock.advance(1.0)
    assert registry.owned(short, "alice") is None
    assert registry.owned(forever, "alice") is not None
    clock.advance(module.UNLIMITED_TTL)
    assert registry.owned(forever, "alice") is None


def test_a_key_that_creates_too_many_tasks_forgets_its_own_oldest_not_another_keys(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(module, "MAX_TASKS_PER_KEY", 2)
    registry = TaskRegistry(ManualClock())
    bobs = registry.add("bob", REF, task("b"))
    first, second, third = (registry.add("alice", REF, task(str(n))) for n in range(3))
    assert registry.owned(first, "alice") is None
    assert list(registry.of("alice")) == [second, third]
    assert registry.owned(bobs, "bob") is not None


def test_the_oldest_task_is_forgotten_first_when_the_registry_is_full(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(module, "MAX_TASKS", 2)
    registry = TaskRegistry(ManualClock())
    first, second, third = (registry.add(key, REF, task(key)) for key in ("alice", "bob", "carol"))
    assert registry.owned(first, "alice") is None and registry.of("alice") == {}
    assert registry.owned(second, "bob") is not None and registry.owned(third, "carol") is not None


def test_an_answer_names_the_gateways_id_in_the_task_and_its_related_task():
    related = {"io.modelcontextprotocol/related-task": {"taskId": "up-1"}}
    shown = _renamed({"taskId": "up-1", "status": "working", "_meta": related}, "up-1", "everything.x")
    assert shown["taskId"] == "everything.x"
    assert shown["_meta"] == {"io.modelcontextprotocol/related-task": {"taskId": "everything.x"}}
    assert related["io.modelcontextprotocol/related-task"]["taskId"] == "up-1"  # the upstream's answer is untouched
