"""The seed policy from the write-ups the project was described from, as a config document."""

from __future__ import annotations

from typing import Any

from mcp_guard.auth.keys import generate_key, hash_key

SEED_ROLES: dict[str, Any] = {
    "engineering": {"tools": ["filesystem/*", "database/*", "github-api/*"]},
    "marketing": {"tools": ["web-search/*", "document-generation/*"]},
    "finance": {"tools": ["cost-tracking/*"]},
    "admin": {"tools": ["*"], "admin": True},
}

SEED_RATE_RULES: list[dict[str, Any]] = [
    {"role": "engineering", "tools": "filesystem/*", "limit": "1000/minute"},
    {"role": "engineering", "tools": "database/*", "limit": "500/minute"},
    {"role": "marketing", "tools": "web-search/*", "limit": "100/minute"},
]


class Keys:
    """Fresh keys for the seed principals; `doc()` is their config entries."""

    def __init__(self) -> None:
        self.engineering = generate_key()
        self.marketing = generate_key()
        self.finance = generate_key()
        self.admin = generate_key()

    def doc(self) -> list[dict[str, Any]]:
        return [
            {"name": "eng-bot", "hash": hash_key(self.engineering), "roles": ["engineering"], "team": "engineering"},
            {"name": "marketing-bot", "hash": hash_key(self.marketing), "roles": ["marketing"], "team": "marketing"},
            {"name": "finance-bot", "hash": hash_key(self.finance), "roles": ["finance"], "team": "finance"},
            {"name": "root", "hash": hash_key(self.admin), "roles": ["admin"]},
        ]


def seed_document(keys: Keys, **extra: Any) -> dict[str, Any]:
    return {
        "roles": SEED_ROLES,
        "customers": {"acme": {}},
        "teams": {"engineering": {"customer": "acme"}, "marketing": {"customer": "acme"}, "finance": {}},
        "keys": keys.doc(),
        "auth": {"store": "memory://"},
        "rate_limits": {"rules": SEED_RATE_RULES},
        **extra,
    }
