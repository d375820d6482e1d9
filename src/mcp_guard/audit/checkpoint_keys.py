"""Checkpoint keys: Ed25519 with `cryptography`, and reading any key from a file or an environment variable.

Imported only where checkpoints are configured or verified, so a gateway without them never loads
`cryptography`. A PEM text is an Ed25519 key; anything else is an HMAC secret. Error messages name where
the key came from, never its content.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import ConfigError
from .checkpoint import Checkpoint, HmacKey, Signer, Verifier

_PEM = b"-----BEGIN "


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
