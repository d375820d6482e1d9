"""Signed checkpoints: a statement, signed with a key the log's writers hold, that the chain had `hash` at `seq`.

The chain alone shows an edited, deleted or reordered record, but not records cut from its end, nor a
chain re-sealed from scratch by someone who edited it: both leave a chain that verifies. A checkpoint
fixes a position of the chain under a key: whoever lacks the key cannot re-sign the rewritten chain's
positions, so `verify` finds the rewrite, and finds an end cut below a checkpoint's position.

Two kinds of key:

- HMAC-SHA256 (`hmac`, the standard library): one secret signs and verifies. Whoever verifies can also sign.
- Ed25519 (`cryptography`, in `checkpoint_keys.py` with the loading of keys): a private key (PKCS#8 PEM)
  signs; its public key (SubjectPublicKeyInfo PEM) verifies, so auditors can check checkpoints without
  being able to make them.

A key is named by a key id derived from it (never the key itself): `ed25519:` + 16 hex digits of the
SHA-256 of the public key, `hmac:` + 16 hex digits of an HMAC of a fixed label (which reveals nothing).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

MIN_HMAC_KEY_BYTES = 32
_KEY_ID_LABEL = b"mcp-guard audit checkpoint key id"
_PAYLOAD_TYPE = "mcp-guard audit checkpoint 1"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The chain had `hash` at `seq` when `key_id` signed this at `time` (epoch seconds)."""

    seq: int
    hash: str
    time: float
    key_id: str
    algorithm: str
    signature: str  # hex

    def payload(self) -> bytes:
        """The signed bytes: every field but the signature, as canonical JSON, with a label so that no other
        message signed by the same key can pass for a checkpoint."""
        fields = {"seq": self.seq, "hash": self.hash, "time": self.time, "key_id": self.key_id, "alg": self.algorithm}
        fields["type"] = _PAYLOAD_TYPE
        return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checkpoint:
        """Rebuild from `as_dict` output (other keys, such as a webhook's `log`, are ignored)."""
        try:
            return cls(
                int(data["seq"]),
                str(data["hash"]),
                float(data["time"]),
                str(data["key_id"]),
                str(data["algorithm"]),
                str(data["signature"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"unreadable checkpoint {dict(data)!r}: {exc}") from exc


class Verifier(Protocol):
    """Checks checkpoints signed by one key."""

    @property
    def key_id(self) -> str: ...

    def verify(self, checkpoint: Checkpoint) -> bool: ...


class Signer(Verifier, Protocol):
    """Signs checkpoints (and, holding the key, can check them too)."""

    @property
    def algorithm(self) -> str: ...

    def sign(self, payload: bytes) -> str: ...


class HmacKey:
    """HMAC-SHA256 with one shared secret of at least 32 bytes."""

    algorithm = "hmac-sha256"

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_HMAC_KEY_BYTES:
            raise ValueError(f"an HMAC checkpoint key needs at least {MIN_HMAC_KEY_BYTES} bytes, got {len(secret)}")
        self._secret = secret
        self.key_id = "hmac:" + hmac.new(secret, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]

    def sign(self, payload: bytes) -> str:
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()

    def verify(self, checkpoint: Checkpoint) -> bool:
        signature = checkpoint.signature
        return (
            checkpoint.algorithm == self.algorithm
            and signature.isascii()  # compare_digest refuses other text; a forged one may hold anything
            and hmac.compare_digest(self.sign(checkpoint.payload()), signature)
        )


def sign(signer: Signer, seq: int, hash_: str, time: float) -> Checkpoint:
    """A checkpoint of (`seq`, `hash_`) at `time`, signed by `signer`."""
    unsigned = Checkpoint(seq, hash_, time, signer.key_id, signer.algorithm, "")
    return Checkpoint(seq, hash_, time, signer.key_id, signer.algorithm, signer.sign(unsigned.payload()))
