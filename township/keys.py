"""The township's two key pairs: Ed25519 to sign configuration, X25519 that subject ids are sealed to."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from kiosk.feed import config_message, sealing

SIGNING_KEY_FILE = "config-signing.pem"
SEALING_KEY_FILE = "seal.pem"


def _write_private(path: Path, key: Ed25519PrivateKey | X25519PrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never overwrite a township's key
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def generate(directory: str | os.PathLike[str]) -> dict[str, str]:
    """Write both private keys (0600, refusing to overwrite); return the public halves for kiosk.toml."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    signing, sealing_key = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    _write_private(out / SIGNING_KEY_FILE, signing)
    _write_private(out / SEALING_KEY_FILE, sealing_key)
    return {"config_public_key": config_message.public_key_text(signing.public_key()),
            "seal_public_key": sealing.public_key_text(sealing_key.public_key())}


def load_signing_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{os.fspath(path)}: expected an Ed25519 private key, not {type(key).__name__}")
    return key
