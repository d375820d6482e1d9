"""A runtime key as every key store keeps it (`KeyRecord`), and its stored JSON form.

Its own module so the stores, the replica and the resolvers share it without importing one another.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..budget.config import BudgetConfig


@dataclass(frozen=True, slots=True)
class KeyRecord:
    name: str
    key_hash: str
    id: str = field(default_factory=lambda: "key_" + uuid.uuid4().hex[:16])
    roles: tuple[str, ...] = ()
    team: str | None = None
    customer: str | None = None
    active: bool = True
    expires_at: float | None = None  # epoch seconds
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    budget: BudgetConfig | None = None
    code_mode: bool = False  # the key's callers see every tool through Code Mode's meta-tools
    source: str = "runtime"  # runtime | config
    created_at: float = field(default_factory=time.time)

    def public(self) -> dict[str, Any]:
        """Everything but the hash, for listings."""
        return {
            "id": self.id, "name": self.name, "roles": list(self.roles), "team": self.team,
            "customer": self.customer, "active": self.active, "expires_at": self.expires_at,
            "allow": list(self.allow), "deny": list(self.deny),
            "budget": self.budget.model_dump(exclude_none=True) if self.budget else None, "code_mode": self.code_mode,
            "source": self.source, "created_at": self.created_at,
        }  # fmt: skip


def key_to_json(record: KeyRecord) -> str:
    """The stored form of a key: its public fields and its hash."""
    return json.dumps({**record.public(), "key_hash": record.key_hash})


def key_from_json(text: str) -> KeyRecord:
    """A key from its stored form (`key_to_json`)."""
    data = json.loads(text)
    budget = BudgetConfig.model_validate(data["budget"]) if data.get("budget") else None
    return KeyRecord(
        name=data["name"], key_hash=data["key_hash"], id=data["id"], roles=tuple(data["roles"]),
        team=data["team"], customer=data["customer"], active=data["active"], expires_at=data["expires_at"],
        allow=tuple(data["allow"]), deny=tuple(data["deny"]), budget=budget, source=data["source"],
        created_at=data["created_at"], code_mode=bool(data.get("code_mode", False)),
    )  # fmt: skip
