"""The limits of one Code Mode execution and of the worker pool that runs them, as configured.

Every limit has a secure default. `CodeModeLimits` holds the per-run limits, which roles, teams and keys
may override (`code_mode_limits:` in their configuration, checked by `check_limit_overrides`);
`CodeModeSettings` adds the worker pool's own settings, which apply to the whole gateway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

KIB = 1024
MIB = 1024 * KIB


class CodeModeLimits(BaseModel):
    """Limits applied to every execution; unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_seconds: float = Field(
        30.0, gt=0, le=3600, description="Wall-clock limit of one execution, tool calls included."
    )
    cpu_seconds: float = Field(
        10.0, gt=0, le=3600, description="CPU time the program itself may use (its worker process's CPU time)."
    )
    memory_limit_bytes: int = Field(
        64 * MIB, ge=16 * MIB, le=4096 * MIB, description="Hard V8 heap limit of the execution's context."
    )
    process_memory_bytes: int = Field(
        256 * MIB,
        ge=64 * MIB,
        le=16384 * MIB,
        description="Memory the worker process may allocate beyond its idle footprint, enforced by the OS "
        "(RLIMIT_DATA): what escapes V8's heap limit (large strings, engine tables) is bounded here.",
    )
    max_tool_calls: int = Field(
        50, ge=0, le=10_000, description="Tool calls one execution may make; further calls throw ToolError 'limit'."
    )
    max_tool_argument_bytes: int = Field(
        1 * MIB, ge=1 * KIB, le=64 * MIB, description="JSON of one call's arguments; larger throws ToolError 'limit'."
    )
    max_tool_result_bytes: int = Field(
        4 * MIB,
        ge=1 * KIB,
        le=256 * MIB,
        description="An inner call's result larger than this (as JSON) is not handed to the program: the call "
        "throws a ToolError of kind 'limit' instead (a huge result would exhaust the sandbox's heap).",
    )
    max_tool_transfer_bytes: int = Field(
        32 * MIB,
        ge=1 * KIB,
        le=1024 * MIB,
        description="Arguments and results of all inner calls of one execution together; the call that would "
        "go over throws ToolError 'limit'.",
    )
    max_result_bytes: int = Field(
        64 * KIB, ge=1 * KIB, le=64 * MIB, description="JSON of the return value beyond this is cut, with a marker."
    )
    max_log_bytes: int = Field(
        64 * KIB, ge=0, le=64 * MIB, description="console output beyond this is dropped, with a marker."
    )
    max_code_bytes: int = Field(
        256 * KIB, ge=1 * KIB, le=16 * MIB, description="Longest program accepted (UTF-8 bytes)."
    )
    max_timers: int = Field(1000, ge=0, le=100_000, description="setTimeout callbacks pending at once.")


class CodeModeSettings(CodeModeLimits):
    """The default limits plus the worker pool (`code_mode:` in the configuration)."""

    workers: int = Field(
        4, ge=1, le=256, description="Worker processes running programs at once; more programs wait for one."
    )
    runs_per_worker: int = Field(
        100, ge=1, le=100_000, description="A worker is replaced after this many runs (and after any failure)."
    )
    classic_search: bool = Field(
        False,
        description="Every classic caller is listed the `search_tools` tool instead of its tools (which stay "
        "callable by name); per request: `x-mcp-tool-search: true`.",
    )
    worker_nice: int = Field(
        10, ge=0, le=19, description="Scheduling niceness of the workers: busy programs yield the CPU to the gateway."
    )

    def limits_for(self, overrides: Iterable[tuple[str, float]]) -> CodeModeSettings:
        """These settings with a caller's per-run overrides applied (already checked)."""
        update = dict(overrides)
        return self.model_copy(update=update) if update else self


LIMIT_NAMES = frozenset(CodeModeLimits.model_fields)


def check_limit_overrides(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Validate `code_mode_limits:` of a role, team or key: known limit names, each within its range."""
    if value is None:
        return None
    unknown = sorted(set(value) - LIMIT_NAMES)
    if unknown:
        raise ValueError(
            f"unknown Code Mode limit(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(LIMIT_NAMES))}"
        )
    checked = CodeModeLimits.model_validate(value)
    return {name: getattr(checked, name) for name in value}


def merge_limit_overrides(
    roles: Iterable[Mapping[str, Any] | None], *layers: Mapping[str, Any] | None
) -> tuple[tuple[str, float], ...]:
    """One caller's overrides: the most generous value among its roles (roles grant, as they grant tools),
    then each layer in order (team, then key) replacing what it sets."""
    merged: dict[str, float] = {}
    for role in roles:
        for name, value in (role or {}).items():
            merged[name] = max(merged.get(name, value), value)
    for layer in layers:
        merged.update(layer or {})
    return tuple(sorted(merged.items()))
