"""The keeper: ends the gateway's child process groups once the gateway is gone, however it went.

Run by `children.py` as `python -I -S keeper.py` (standard library only, nothing of mcp_guard is imported:
it starts in ~10 ms and holds ~8 MB). It reads lines from the gateway on stdin: `+PGID` when a child
group starts, `-PGID` once the gateway has ended it itself. End of file means the gateway process has
exited (even by SIGKILL, which nothing inside it can catch): every group still registered is sent SIGTERM,
then SIGKILL after a grace period, and the keeper exits. SIGTERM to the keeper does the same at once.
"""

from __future__ import annotations

import os
import signal
import sys
import time

GRACE = 2.0
_POLL = 0.05


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is for the gateway
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_reading)
    groups: set[int] = set()
    try:
        for line in sys.stdin:
            sign, number = line[:1], line[1:].strip()
            if number.isdigit() and sign in "+-":
                (groups.add if sign == "+" else groups.discard)(int(number))
    except _Stop:
        pass
    end(groups)


class _Stop(Exception):
    pass


def _stop_reading(signum: int, frame: object) -> None:
    raise _Stop


def end(groups: set[int], grace: float = GRACE) -> None:
    """SIGTERM every group, SIGKILL the ones with a process left after `grace` seconds."""
    alive = {group for group in groups if _signal(group, signal.SIGTERM)}
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        time.sleep(_POLL)
        alive = {group for group in alive if group_alive(group)}
    for group in alive:
        _signal(group, signal.SIGKILL)


def group_alive(group: int) -> bool:
    """Whether a live process is left in process group `group`.

    Zombies do not count: where PID 1 does not reap orphans (some containers), a killed helper stays a
    zombie for good, and its group would look alive forever."""
    if not _signal(group, 0):
        return False
    return not os.path.isdir("/proc") or bool(live_members(group))


def live_members(group: int) -> list[int]:
    """The pids of the live (not zombie) processes of `group`, read from /proc (Linux)."""
    members = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    text = stat.read()
            except OSError:
                continue
            fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, pgrp, ...
            if int(fields[2]) == group and fields[0] not in ("Z", "X"):
                members.append(int(name))
    return members


def _signal(group: int, sig: int) -> bool:
    """Signal `group`; False when no process of it exists any more."""
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed its uid: it is still there
        pass
    return True


if __name__ == "__main__":
    main()
