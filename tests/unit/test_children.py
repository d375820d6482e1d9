"""Child processes: a whole group ended, an exit seen while a helper still holds the pipes, the death signal."""

import os
import signal
import subprocess
import sys
import time

import anyio
import pytest

from mcp_guard.children import end_group, keeper_pid, live_members, spawn, wait_exit

pytestmark = pytest.mark.anyio


async def test_the_whole_group_ends_helpers_included():
    child = await spawn(["sh", "-c", "sleep 600 & sleep 600 & exec sleep 600"])
    with anyio.fail_after(5):
        while len(live_members(child.pid)) < 3:
            await anyio.sleep(0.01)
    assert os.getpgid(child.pid) == child.pid  # it leads a group (and session) of its own
    assert keeper_pid() is not None
    started = time.monotonic()
    await end_group(child)
    assert live_members(child.pid) == [] and time.monotonic() - started < 1.0  # SIGTERM was enough
    assert await wait_exit(child) == -signal.SIGTERM


async def test_what_ignores_sigterm_gets_sigkill_after_the_grace():
    child = await spawn(["sh", "-c", "trap '' TERM; sleep 600 & wait"])
    await anyio.sleep(0.2)
    started = time.monotonic()
    await end_group(child, grace=0.3)
    assert live_members(child.pid) == [] and 0.3 <= time.monotonic() - started < 2.0


async def test_an_exit_is_seen_while_a_helper_holds_the_pipes():
    child = await spawn(["sh", "-c", "sleep 600 & exit 3"])
    with anyio.fail_after(2):  # end-of-file on stdout would never come: the helper holds it
        assert await wait_exit(child) == 3
    assert child.stdout is not None and not child.stdout.at_eof()
    assert len(live_members(child.pid)) == 1  # the helper, until its group is ended
    await end_group(child)
    assert live_members(child.pid) == []


THREAD_SPAWNS = """
import asyncio, sys, threading, time
from mcp_guard.children import spawn

def in_a_thread():
    async def start():
        child = await spawn(["sleep", "600"])
        print(child.pid, flush=True)
    asyncio.run(start())

thread = threading.Thread(target=in_a_thread)
thread.start()
thread.join()
time.sleep(5)  # this process lives on; only the spawning thread has ended
"""


def test_the_child_gets_sigkill_when_the_thread_that_spawned_it_ends():
    """PR_SET_PDEATHSIG: the signal follows the spawning thread, which is why `spawn` must run on the event
    loop's long-lived thread. Shown in a separate process, whose thread spawns a child and ends."""
    process = subprocess.Popen([sys.executable, "-c", THREAD_SPAWNS], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        pid = int(process.stdout.readline())
        deadline = time.monotonic() + 3
        while live_members(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert live_members(pid) == [] and process.poll() is None  # the child died, its parent lives on
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


ADOPTS = """
import subprocess, threading, time
from mcp_guard.children import adopt

def in_a_thread():
    child = subprocess.Popen(["sh", "-c", "sleep 600 & exec sleep 600"], start_new_session=True)
    adopt(child.pid)
    print(child.pid, flush=True)

thread = threading.Thread(target=in_a_thread)
thread.start()
thread.join()
time.sleep(600)
"""


def test_an_adopted_group_ends_when_its_process_is_killed():
    """A group started by other code (a test's server, from a worker thread) and adopted: the keeper ends
    it, helpers included, when the process that adopted it is killed with SIGKILL."""
    process = subprocess.Popen([sys.executable, "-c", ADOPTS], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        pgid = int(process.stdout.readline())
        with_helper = time.monotonic() + 3
        while len(live_members(pgid)) < 2 and time.monotonic() < with_helper:
            time.sleep(0.02)
        assert len(live_members(pgid)) == 2 and process.poll() is None  # alive while the adopter lives
        process.kill()
        process.wait()
        deadline = time.monotonic() + 5
        while live_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert live_members(pgid) == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
