"""What one caller is shown: the tools it may see, split into those listed directly and those reached
through Code Mode (then the three meta-tools are listed in their place).

Code Mode applies to a tool when its server has `code_mode: true` in the configuration, or to every tool
when the caller's key or team has `code_mode: true`, or when the request asks for it
(`x-mcp-code-mode: true`, recorded on the RequestState).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import mcp_types as types

from .catalog import CatalogEntry, openai_function
from .codemode import CodeModeSettings, meta_tools
from .state import RequestState

if TYPE_CHECKING:
    from .gateway import Gateway


@dataclass(frozen=True, slots=True)
class Listing:
    direct: tuple[CatalogEntry, ...]
    code: tuple[CatalogEntry, ...]
    settings: CodeModeSettings

    def mcp_tools(self) -> list[types.Tool]:
        return [e.exposed for e in self.direct] + (list(_meta_tools(self.settings)) if self.code else [])

    def openai_tools(self) -> list[dict[str, Any]]:
        meta = [openai_function(t) for t in _meta_tools(self.settings)] if self.code else []
        return [e.openai for e in self.direct] + meta


@cache
def _meta_tools(settings: CodeModeSettings) -> tuple[types.Tool, ...]:
    return tuple(meta_tools(settings))


def listing_for(gateway: Gateway, state: RequestState) -> Listing:
    visible = [e for e in gateway.catalog.entries() if state.may_see(e.ref)]
    code_only = gateway.code_only_servers
    if state.code_mode or (state.principal is not None and state.principal.code_mode):
        direct, code = [], visible
    else:
        direct = [e for e in visible if e.ref.server not in code_only]
        code = [e for e in visible if e.ref.server in code_only]
    return Listing(tuple(direct), tuple(code), gateway.config.code_mode)
