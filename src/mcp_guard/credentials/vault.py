"""Encryption of stored upstream tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`.

The key comes from a file or an environment variable, never from the configuration file itself.
Several keys may be given, one per line (or comma-separated): the first encrypts, all decrypt, so a key
is rotated by putting the new one first.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..errors import ConfigError
from .config import CredentialSettings


class Vault:
    def __init__(self, keys: list[str]) -> None:
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError:
            raise ConfigError(
                "credentials: the key must be a Fernet key (32 url-safe base64 bytes); make one with "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from None

    @classmethod
    def from_settings(cls, settings: CredentialSettings) -> Vault:
        if settings.key_file:
            try:
                text = Path(settings.key_file).read_text()
            except OSError as exc:
                raise ConfigError(f"credentials.key_file: cannot read {settings.key_file!r}: {exc}") from None
        elif settings.key_env:
            text = os.environ.get(settings.key_env, "")
            if not text:
                raise ConfigError(f"credentials.key_env: the variable {settings.key_env} is not set")
        else:
            raise ConfigError("credentials: servers with stored credentials need credentials.key_file or key_env")
        keys = [key.strip() for key in text.replace(",", "\n").splitlines() if key.strip()]
        if not keys:
            raise ConfigError("credentials: the key is empty")
        return cls(keys)

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """The secret; `ValueError` when it was sealed with a key this vault does not have."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError("the stored credential cannot be decrypted with the configured key") from None
