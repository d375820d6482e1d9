"""Virtual servers: named MCP endpoints (`<mount>/s/<name>`) that show a chosen bundle of upstreams and their
tools, resources and prompts, configured under `virtual_servers`.

A virtual server is a fixed filter, never a grant: its `VirtualServerRule` joins the request's other
`ToolAccess` rules (the key's roles and allow lists, the filter headers), so through a virtual server a
caller sees and may use what the key may *and* the bundle holds, by the same pipeline as everywhere else.
The patterns are the ones every allow list uses (`patterns.py`); `servers` narrows all three kinds.

An endpoint over exactly one upstream shows that upstream's own names (`unprefixed`), see
`router/virtual.py`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import ConfigError, NotAllowed, NotFound
from .names import Ref, described
from .patterns import PatternSet, ToolPattern

KINDS = ("tool", "resource", "prompt")
RESERVED_NAMES = frozenset(
    (
        "s",
        "tools",
        "tool",
        "resources",
        "prompts",
        "servers",
        "admin",
        "keys",
        "credentials",
        "audit",
        "analytics",
        "v1",
        "ui",
        "openapi.json",
    )
)
"""First path segments of the mount's own routes: no virtual server is named so, so Bifrost's short form
`<mount>/<name>` never shadows a route nor is shadowed by one (`router/virtual.py`)."""


class VirtualServerConfig(BaseModel):
    """One virtual server: the upstreams it shows and, per kind, which of their items (globs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    servers: list[str] = Field(min_length=1, description="The upstream servers this endpoint shows.")
    tools: list[str] | None = Field(
        None, description="Tool patterns (`server/tool`, `server/*`, globs); omitted = every tool of `servers`."
    )
    resources: list[str] | None = Field(
        None, description="Resource patterns (`server/<URI glob>`); omitted = every resource of `servers`."
    )
    prompts: list[str] | None = Field(
        None, description="Prompt patterns (`server/<name glob>`); omitted = every prompt of `servers`."
    )

    @field_validator("tools", "resources", "prompts")
    @classmethod
    def _patterns(cls, value: list[str] | None) -> list[str] | None:
        for text in value or ():
            ToolPattern.parse(text)  # a malformed pattern is a config error naming it
        return value

    def patterns(self, kind: str) -> list[str] | None:
        return {"tool": self.tools, "resource": self.resources, "prompt": self.prompts}[kind]


class OutsideVirtualServer(NotAllowed):
    reason = "virtual_server"


class UnknownVirtualServer(NotFound):
    reason = "unknown_virtual_server"


class VirtualServerRule:
    """The `ToolAccess` rule of one virtual server (see the module docstring)."""

    __slots__ = ("_include", "name", "servers")

    def __init__(self, name: str, config: VirtualServerConfig) -> None:
        self.name = name
        self.servers = frozenset(config.servers)
        self._include: dict[str, PatternSet | None] = {}
        for kind in KINDS:
            texts = config.patterns(kind)
            self._include[kind] = None if texts is None else PatternSet(ToolPattern.parse(t, kind) for t in texts)

    @property
    def unprefixed(self) -> str | None:
        """The one upstream whose own names this endpoint shows; None when it bundles several."""
        return next(iter(self.servers)) if len(self.servers) == 1 else None

    def allows(self, ref: Ref) -> bool:
        include = self._include[ref.kind]
        return ref.server in self.servers and (include is None or include.matches(ref))

    def may_see_any(self, kind: str, server: str) -> bool:
        include = self._include.get(kind)
        return server in self.servers and (include is None or include.may_match_server(kind, server))

    def denial(self, ref: Ref) -> OutsideVirtualServer:
        return OutsideVirtualServer(
            f"{described(ref)} is not part of virtual server {self.name!r}", extra={ref.kind: str(ref)}
        )


def check_servers(virtual_servers: Mapping[str, VirtualServerConfig], servers: Collection[str]) -> None:
    """`ConfigError` naming a virtual server's servers that are neither configured nor registered in code (a
    typo would otherwise be an endpoint that silently shows nothing)."""
    for name, virtual in virtual_servers.items():
        unknown = sorted(set(virtual.servers) - set(servers))
        if unknown:
            raise ConfigError(f"virtual_servers.{name}.servers: not configured servers: {unknown}")


def virtual_rule(configured: Mapping[str, VirtualServerConfig], name: str) -> VirtualServerRule:
    """The rule of the virtual server `name`; `UnknownVirtualServer` (404) naming the configured ones."""
    config = configured.get(name)
    if config is None:
        known = ", ".join(sorted(configured)) or "none are configured"
        raise UnknownVirtualServer(
            f"No virtual server {name[:100]!r}; the virtual servers are: {known}", extra={"virtual_server": name[:100]}
        )
    return VirtualServerRule(name, config)
