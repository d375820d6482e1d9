"""The limits of one Code Mode execution, as configured (every one has a secure default)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

KIB = 1024
MIB = 1024 * KIB


class CodeModeSettings(BaseModel):
    """Limits applied to every `execute` call; unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_seconds: float = Field(
        30.0, gt=0, le=3600, description="Wall-clock limit of one execution, tool calls included."
    )
    memory_limit_bytes: int = Field(
        64 * MIB, ge=16 * MIB, le=4096 * MIB, description="Hard V8 heap limit of the execution's context."
    )
    max_tool_calls: int = Field(
        50, ge=0, le=10_000, description="Tool calls one execution may make; the next one stops it (kind 'limit')."
    )
    max_result_bytes: int = Field(
        64 * KIB, ge=1 * KIB, le=64 * MIB, description="JSON of the return value beyond this is cut, with a marker."
    )
    max_tool_result_bytes: int = Field(
        4 * MIB,
        ge=1 * KIB,
        le=256 * MIB,
        description="An inner call's result larger than this (as JSON) is not handed to the program: the call "
        "throws a ToolError of kind 'limit' instead (a huge result would exhaust the sandbox's heap).",
    )
    max_log_bytes: int = Field(
        64 * KIB, ge=0, le=64 * MIB, description="console output beyond this is dropped, with a marker."
    )
    max_code_bytes: int = Field(
        256 * KIB, ge=1 * KIB, le=16 * MIB, description="Longest program accepted (UTF-8 bytes)."
    )
    max_timers: int = Field(1000, ge=0, le=100_000, description="setTimeout callbacks pending at once.")
