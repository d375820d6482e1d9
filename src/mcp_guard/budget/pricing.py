"""What one tool call costs.

The most specific price wins: an exact `server/tool` entry, then the most specific glob under `tools`
(`github/list_*` before `github/*`), then the server's default under `servers`, then `default`.

Resource reads, prompt gets and completions are free unless an entry under `tools` names them with its
kind prefix (`resource:docs/*: 0.001`, `prompt:git/*`): `servers` and `default` price tool calls only.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from ..names import Ref, ToolRef
from ..patterns import ToolPattern, split_kind

Price = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_GLOB_CHARS = frozenset("*?[")


class PricingConfig(BaseModel):
    """Prices of tool calls, in the budget currency (USD)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Price = Field(0.0, description="Cost of a call no other entry prices.")
    servers: dict[str, Price] = Field(default_factory=dict, description="Server name → cost of any of its calls.")
    tools: dict[str, Price] = Field(
        default_factory=dict,
        description="`server/tool` or a tool pattern such as `github/*` → cost; exact entries beat patterns, "
        "and among patterns the one with the most literal characters wins.",
    )

    _exact: dict[Ref, float] = PrivateAttr(default_factory=dict)
    _globs: list[tuple[ToolPattern, float]] = PrivateAttr(default_factory=list)

    @field_validator("tools")
    @classmethod
    def _valid_patterns(cls, value: dict[str, float]) -> dict[str, float]:
        for text in value:
            ToolPattern.parse(text)  # raises ValueError naming the bad pattern
        return value

    def model_post_init(self, context: object, /) -> None:
        for text, price in self.tools.items():
            if _is_exact(text) and split_kind(text)[0] == "tool":
                self._exact[ToolRef.parse(text)] = price
            else:
                self._globs.append((ToolPattern.parse(text), price))
        # A stable sort keeps the written order among equally specific patterns: the first one wins.
        self._globs.sort(key=lambda entry: -_specificity(entry[0].text))

    def cost_of(self, ref: Ref) -> float:
        """The cost of one call of `ref`."""
        if ref in self._exact:
            return self._exact[ref]
        for pattern, price in self._globs:
            if pattern.matches(ref):
                return price
        return self.servers.get(ref.server, self.default) if ref.kind == "tool" else 0.0


def _is_exact(text: str) -> bool:
    return "/" in text and not _GLOB_CHARS.intersection(text)


def _specificity(text: str) -> int:
    """How many characters of a pattern are literal; a bare server name stands for `server/*`."""
    text = text if "/" in text or text == "*" else f"{text}/*"
    return sum(1 for char in text if char not in "*?[]")
