"""Signed checkpoints: a statement, signed with a key the log's writers hold, that the chain had `hash` at `seq`.

The chain alone shows an edited, deleted or reordered record, but not records cut from its end, nor a
chain re-sealed from scratch by someone who edited it: both leave a chain that verifies. A checkpoint
fixes a position of the chain under a key: whoever lacks the key cannot re-sign the rewritten chain's
positions, so `verify` finds the rewrite, and finds an end cut below a checkpoint's position.

Two kinds of key:

- HMAC-SHA256 (`hmac`, the standard library): one secret signs and verifies. Whoever verifies can also sign.
- Ed25519 (`cryptography`): a private key (PKCS#8 PEM) signs; its public key (SubjectPublicKeyInfo PEM)
  verifies, so auditors can check checkpoints without being able to make them.

A key is named by a key id derived from it (never the key itself): `ed25519:` + 16 hex digits of the
SHA-256 of the public key, `hmac:` + 16 hex digits of an HMAC of a fixed label (which reveals nothing).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import ConfigError

MIN_HMAC_KEY_BYTES = 32
_KEY_ID_LABEL = b"mcp-guard audit checkpoint key id"
_PEM = b"-----BEGIN "


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
        """The signed bytes: every field but the signature, as canonical JSON."""
        fields = {"seq": self.seq, "hash": self.hash, "time": self.time, "key_id": self.key_id, "alg": self.algorithm}
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
        return checkpoint.algorithm == self.algorithm and hmac.compare_digest(
            self.sign(checkpoint.payload()), checkpoint.signature
        )


class Ed25519Verifier:
    """Checks Ed25519 signatures with a public key."""

    algorithm = "ed25519"

    def __init__(self, public_key: Ed25519PublicKey) -> None:
        self._public = public_key
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]

    def verify(self, checkpoint: Checkpoint) -> bool:
        if checkpoint.algorithm != self.algorithm:
            return False
        try:
            self._public.verify(bytes.fromhex(checkpoint.signature), checkpoint.payload())
        except (InvalidSignature, ValueError):
            return False
        return True


class Ed25519Signer(Ed25519Verifier):
    """Signs with an Ed25519 private key; `public_pem()` is what auditors get."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        super().__init__(private_key.public_key())
        self._private = private_key

    def sign(self, payload: bytes) -> str:
        return self._private.sign(payload).hex()

    def public_pem(self) -> bytes:
        return self._public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def sign(signer: Signer, seq: int, hash_: str, time: float) -> Checkpoint:
    """A checkpoint of (`seq`, `hash_`) at `time`, signed by `signer`."""
    unsigned = Checkpoint(seq, hash_, time, signer.key_id, signer.algorithm, "")
    return Checkpoint(seq, hash_, time, signer.key_id, signer.algorithm, signer.sign(unsigned.payload()))


def read_key_material(*, key_file: str | None = None, key_env: str | None = None) -> tuple[bytes, str]:
    """The key's bytes from a file or an environment variable, and a name for messages (never the key)."""
    if key_file is not None:
        try:
            return Path(key_file).read_bytes(), f"key file {key_file!r}"
        except OSError as exc:
            raise ConfigError(f"audit checkpoint key file {key_file!r} cannot be read: {exc.strerror}") from exc
    if key_env is not None:
        value = os.environ.get(key_env)
        if not value:
            raise ConfigError(f"audit checkpoint key: environment variable {key_env!r} is not set")
        return value.encode(), f"environment variable {key_env!r}"
    raise ConfigError("audit checkpoint key: give a key file or an environment variable")


def signer_from(material: bytes, source: str) -> Signer:
    """An Ed25519 private key in PEM, or else an HMAC secret (surrounding whitespace ignored)."""
    if material.lstrip().startswith(_PEM):
        key = _load_pem(material, source, private=True)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"audit checkpoint {source} holds a {type(key).__name__}, not an Ed25519 private key")
        return Ed25519Signer(key)
    return _hmac(material, source)


def verifier_from(material: bytes, source: str) -> Verifier:
    """An Ed25519 public or private key in PEM, or else an HMAC secret."""
    if not material.lstrip().startswith(_PEM):
        return _hmac(material, source)
    if b"PRIVATE KEY" in material:
        return signer_from(material, source)
    key = _load_pem(material, source, private=False)
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"audit checkpoint {source} holds a {type(key).__name__}, not an Ed25519 public key")
    return Ed25519Verifier(key)


def _load_pem(material: bytes, source: str, *, private: bool) -> object:
    try:
        if private:
            return serialization.load_pem_private_key(material, password=None)
        return serialization.load_pem_public_key(material)
    except (ValueError, TypeError) as exc:  # the message names the format problem, never the key
        raise ConfigError(f"audit checkpoint {source} is not a readable unencrypted PEM key") from exc


def _hmac(material: bytes, source: str) -> HmacKey:
    try:
        return HmacKey(material.strip())
    except ValueError as exc:
        raise ConfigError(f"audit checkpoint {source}: {exc}") from exc
