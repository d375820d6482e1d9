"""Checkpoint signatures with real keys: HMAC-SHA256 and Ed25519 (made with `cryptography` and openssl)."""

import dataclasses
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mcp_guard.audit.checkpoint import HmacKey, sign
from mcp_guard.audit.checkpoint_keys import Ed25519Signer, read_key_material, signer_from, verifier_from
from mcp_guard.errors import ConfigError


def private_pem(key=None) -> bytes:
    key = key or Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_hmac_signs_and_verifies_and_notices_any_change():
    key = HmacKey(b"s" * 32)
    checkpoint = sign(key, 40, "ab" * 32, 1_700_000_000.5)
    assert key.verify(checkpoint) and checkpoint.algorithm == "hmac-sha256"
    for change in ({"seq": 41}, {"hash": "cd" * 32}, {"time": 1_700_000_001.0}, {"signature": "00" * 32}):
        assert not key.verify(dataclasses.replace(checkpoint, **change))
    assert not HmacKey(b"t" * 32).verify(checkpoint)


def test_key_ids_name_the_key_without_revealing_it():
    secret = b"correct horse battery staple, 32+"
    key = HmacKey(secret)
    assert key.key_id.startswith("hmac:") and len(key.key_id) == 21 and secret.hex()[:16] not in key.key_id
    assert HmacKey(secret).key_id == key.key_id != HmacKey(b"x" * 32).key_id


def test_a_short_hmac_secret_is_refused():
    with pytest.raises(ConfigError, match="at least 32 bytes, got 5"):
        signer_from(b"short", "environment variable 'K'")


def test_ed25519_signs_with_the_private_key_and_verifies_with_the_public_one():
    pem = private_pem()
    signer = signer_from(pem, "key file")
    assert isinstance(signer, Ed25519Signer) and signer.key_id.startswith("ed25519:")
    checkpoint = sign(signer, 7, "ef" * 32, 1_700_000_000.0)
    auditor = verifier_from(signer.public_pem(), "public key")
    assert auditor.key_id == signer.key_id and auditor.verify(checkpoint)
    assert not hasattr(auditor, "sign")  # the public key cannot make checkpoints
    assert not auditor.verify(dataclasses.replace(checkpoint, seq=8))
    assert not auditor.verify(dataclasses.replace(checkpoint, signature="zz"))  # not even hex
    assert not verifier_from(signer_from(private_pem(), "other").public_pem(), "other").verify(checkpoint)
    assert not HmacKey(b"s" * 32).verify(checkpoint)  # an Ed25519 checkpoint is not an HMAC one


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_keys_made_by_openssl_as_the_docs_say(tmp_path):
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", tmp_path / "checkpoint.pem"], check=True)
    public = ["openssl", "pkey", "-in", tmp_path / "checkpoint.pem", "-pubout", "-out", tmp_path / "checkpoint.pub"]
    subprocess.run(public, check=True)
    signer = signer_from(*read_key_material(key_file=str(tmp_path / "checkpoint.pem")))
    auditor = verifier_from(*read_key_material(key_file=str(tmp_path / "checkpoint.pub")))
    assert auditor.verify(sign(signer, 1, "00" * 32, 1.0))


def test_other_pem_keys_are_refused_by_name():
    ec = private_pem(generate_private_key(SECP256R1()))
    with pytest.raises(ConfigError, match="not an Ed25519 private key"):
        signer_from(ec, "key file '/etc/k.pem'")
    with pytest.raises(ConfigError, match="not a readable unencrypted PEM key"):
        signer_from(b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n", "key file")


def test_key_material_from_a_file_or_a_variable_and_errors_that_never_show_it(tmp_path, monkeypatch):
    (tmp_path / "k").write_bytes(b"f" * 40 + b"\n")
    material, source = read_key_material(key_file=str(tmp_path / "k"))
    assert signer_from(material, source).key_id == HmacKey(b"f" * 40).key_id  # the newline is not part of it
    monkeypatch.setenv("CHECKPOINT_KEY", "e" * 32)
    assert signer_from(*read_key_material(key_env="CHECKPOINT_KEY")).key_id == HmacKey(b"e" * 32).key_id
    with pytest.raises(ConfigError, match="'MISSING' is not set"):
        read_key_material(key_env="MISSING")
    with pytest.raises(ConfigError, match="cannot be read"):
        read_key_material(key_file=str(tmp_path / "nope"))
    monkeypatch.setenv("CHECKPOINT_KEY", "tiny-secret")
    with pytest.raises(ConfigError) as raised:
        signer_from(*read_key_material(key_env="CHECKPOINT_KEY"))
    assert "tiny-secret" not in str(raised.value)
