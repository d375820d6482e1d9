"""Managing runtime keys: create, list, deactivate, set budget. Keys from the YAML file are listed but
changed only in the file (the file stays the source of truth for them)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..budget.config import BudgetConfig
from ..errors import BadRequest, NotAllowed, NotFound
from ..patterns import ToolPattern
from .key_record import KeyRecord
from .keys import generate_key, hash_key

if TYPE_CHECKING:
    from .resolver import KeyResolver


class NewKey(BaseModel):
    """Body of `POST /keys`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    roles: list[str] = Field(default_factory=list)
    team: str | None = None
    customer: str | None = None
    expires_at: datetime | None = None
    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)
    budget: BudgetConfig | None = None
    code_mode: bool = False

    @field_validator("allow", "deny")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for text in value:
            ToolPattern.parse(text)
        return value


class KeyAdmin:
    def __init__(self, resolver: KeyResolver) -> None:
        self.resolver = resolver

    async def create(self, request: NewKey) -> tuple[str, KeyRecord]:
        """A new key (returned once, never stored) and its record."""
        from ..config import check_key_references

        try:
            check_key_references(self.resolver.config, request.name, request.roles, request.team, request.customer)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        if any(identity.record.name == request.name for identity in self.resolver.config_keys.values()):
            raise BadRequest(f"a key named {request.name!r} is defined in the configuration file")
        key = generate_key()
        record = KeyRecord(
            name=request.name, key_hash=hash_key(key), roles=tuple(request.roles), team=request.team,
            customer=request.customer, expires_at=request.expires_at.timestamp() if request.expires_at else None,
            allow=tuple(request.allow), deny=tuple(request.deny), budget=request.budget,
            code_mode=request.code_mode,
        )  # fmt: skip
        try:
            await self.resolver.store.add(record)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return key, record

    async def list(self) -> list[dict[str, Any]]:
        configured = [identity.record.public() for identity in self.resolver.config_keys.values()]
        return configured + [record.public() for record in await self.resolver.store.list()]

    async def deactivate(self, key_id: str) -> KeyRecord:
        return await self._change(key_id, active=False)

    async def set_budget(self, key_id: str, budget: BudgetConfig | None) -> KeyRecord:
        return await self._change(key_id, budget=budget)

    async def _change(self, key_id: str, **changes: Any) -> KeyRecord:
        if any(identity.record.id == key_id for identity in self.resolver.config_keys.values()):
            raise NotAllowed(f"Key {key_id!r} is defined in the configuration file; change it there")
        record = await self.resolver.store.get(key_id)
        if record is None:
            raise NotFound(f"No runtime key with id {key_id!r}")
        updated = dataclasses.replace(record, **changes)
        await self.resolver.store.update(updated)
        self.resolver.invalidate()  # refused on its very next request in this process
        return updated
