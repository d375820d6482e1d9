"""Virtual keys: `mcpg_` + 43 random URL-safe characters, stored only as a SHA-256 hash.

The prefix lets secret scanners (GitHub, gitleaks, trufflehog) recognise a leaked key. The hash is
unsalted on purpose: keys carry 256 bits of randomness, so a salt adds nothing, and a deterministic hash
lets the gateway find a key with one indexed lookup instead of trying every stored hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

KEY_PREFIX = "mcpg_"
HASH_PREFIX = "sha256:"
HASH_PATTERN = re.compile(r"^sha256:[0-9a-f]{64}$")


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return HASH_PREFIX + hashlib.sha256(key.encode()).hexdigest()


def fingerprint(key: str) -> str:
    """The first 8 hex digits of the key's SHA-256, which its stored hash (`sha256:<hex>`) starts with: names
    a presented key in the audit log (a refused unknown key, too) without the key, and matches a stored one."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def hashes_match(stored: str, presented: str) -> bool:
    """Constant-time comparison of two key hashes."""
    return hmac.compare_digest(stored.encode(), presented.encode())
