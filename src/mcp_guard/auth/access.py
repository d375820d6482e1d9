"""What a principal may see and call: deny by default, grants from roles, team and key, denials win.
Tools, resources and prompts alike: a pattern matches only references of its own kind (`patterns.py`)."""

from __future__ import annotations

from ..errors import GatewayError, NotAllowed
from ..names import Ref, described
from ..patterns import PatternSet


class PrincipalAccess:
    """The `ToolAccess` rule for one principal (one instance per key, reused across its requests)."""

    __slots__ = ("_allow", "_cache", "_deny", "key_name", "roles")

    def __init__(self, key_name: str, roles: tuple[str, ...], allow: PatternSet, deny: PatternSet) -> None:
        self.key_name = key_name
        self.roles = roles
        self._allow = allow
        self._deny = deny
        self._cache: dict[Ref, bool] = {}  # pattern matching once per tool, not once per request

    def allows(self, ref: Ref) -> bool:
        allowed = self._cache.get(ref)
        if allowed is None:
            allowed = self._cache[ref] = self._allow.matches(ref) and not self._deny.matches(ref)
        return allowed

    def may_see_any(self, kind: str, server: str) -> bool:
        return self._allow.may_match_server(kind, server)

    def denial(self, ref: Ref) -> GatewayError:
        roles = ", ".join(self.roles) or "none"
        return NotAllowed(
            f"{described(ref)} is not allowed for key '{self.key_name}' (roles: {roles})",
            extra={ref.kind: str(ref), "key": self.key_name, "roles": list(self.roles)},
        )
