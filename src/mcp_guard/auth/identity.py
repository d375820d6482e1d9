"""What a presented credential resolves to: an `Identity`, the key record with the principal and the access
rule built from it. Keys (`resolver.py`) and OAuth tokens (`oauth/principals.py`) both end in one."""

from __future__ import annotations

from dataclasses import dataclass

from .access import PrincipalAccess
from .key_record import KeyRecord
from .principal import Principal


@dataclass(frozen=True, slots=True)
class Identity:
    record: KeyRecord
    principal: Principal
    access: PrincipalAccess
