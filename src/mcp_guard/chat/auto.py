"""Which of a model's tool calls agent mode runs by itself.

A call is auto-executable when it names a gateway tool injected into this request (never one of the
caller's own tools) and the tool matches an auto-execute list: its server's `auto_execute` (tool names,
matched as `server/<name>`), or the caller's key's or team's list under `agent.keys` / `agent.teams`
(`server/tool` patterns); the lists add up. A tool that needs confirmation is never auto-executable,
whatever a list says.

Code Mode's meta-tools are auto-executable: `listToolFiles` and `readToolFile` only read the caller's
declarations, and `executeToolCode` runs under the same rule for every call its program makes (Code
Mode's `auto_only`): a call to any other tool fails the execution with "needs approval", and the gateway
then hands the whole `executeToolCode` call back to the app as a suggestion.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..code_mode import is_meta_tool
from ..names import ToolRef
from ..patterns import PatternSet

if TYPE_CHECKING:
    from ..auth.principal import Principal
    from ..config import GatewayConfig
    from ..host import GatewayHost


def auto_patterns(config: GatewayConfig, principal: Principal | None) -> list[str]:
    """Every auto-execute pattern that applies to this caller."""
    patterns = [f"{server.name}/{tool}" for server in config.servers for tool in server.auto_execute]
    if principal is not None:
        patterns += config.agent.keys.get(principal.key_name, [])
        if principal.team is not None:
            patterns += config.agent.teams.get(principal.team, [])
    return patterns


class AutoPolicy:
    """The auto-execute rule for one request."""

    def __init__(self, gateway: GatewayHost, principal: Principal | None, injected: Iterable[str]) -> None:
        self._catalog = gateway.catalog
        self._confirmations = gateway.confirmations
        self._patterns = PatternSet(auto_patterns(gateway.config, principal))
        self._injected = frozenset(injected)

    def allows(self, ref: ToolRef) -> bool:
        """Whether the tool may run unasked (Code Mode's `auto_only` rule)."""
        entry = self._catalog.get(ref)
        return entry is not None and self._patterns.matches(ref) and not self._confirmations.required(entry)

    def is_auto(self, name: str) -> bool:
        """Whether a tool call the model made by this name runs in the gateway."""
        if name not in self._injected:
            return False  # the caller's own tools, and names nobody offered the model
        if is_meta_tool(name):
            return True
        entry = self._catalog.resolve(name)
        return entry is not None and self.allows(entry.ref)

    def tracker(self) -> ApprovalTracker:
        return ApprovalTracker(self)


class ApprovalTracker:
    """`AutoPolicy.allows` for one execution, remembering the tools it refused."""

    def __init__(self, policy: AutoPolicy) -> None:
        self._policy = policy
        self.refused: list[str] = []

    def __call__(self, ref: ToolRef) -> bool:
        allowed = self._policy.allows(ref)
        if not allowed:
            self.refused.append(str(ref))
        return allowed
