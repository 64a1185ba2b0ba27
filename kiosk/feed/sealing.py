"""Sealing the subject id to the township, so that only the township can read it.

A THP1 code's `sid` is pseudonymous but stable per person: in clear, on an SD card or in a
broker's queue, it would let whoever copies either follow a person from door to door.  The
kiosk therefore never stores it in clear; every event carries it sealed to the township's
X25519 public key, and only the township, holding the private key, can open it.

The construction is an anonymous "sealed box" (the shape of libsodium's `crypto_box_seal`,
ECIES-style), built from `cryptography`, which the kiosk already depends on, instead of adding
PyNaCl and a native libsodium to the image:

* a fresh ephemeral X25519 key pair per seal; shared secret = X25519(ephemeral, township);
* key = HKDF-SHA256(shared, salt = ephemeral_pub || township_pub, info = `INFO`), 32 bytes;
* ChaCha20-Poly1305 with an all-zero nonce (safe: every key is used exactly once) and the
  format label as associated data;
* text form: `S1.` + base64url(ephemeral_pub || ciphertext || tag), no padding.

Each seal is randomised, so two events of the same person carry different sealed values: the
broker and anyone who reads the outbox cannot even tell that they belong together.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kiosk.config_problems import seal_key_problem
from kiosk.errors import KioskError

PREFIX = "S1."
INFO = b"checkpoint/v1 sealed subject id"
AAD = b"checkpoint/v1 sid"
_NONCE = bytes(12)
_KEY_LEN = 32


class SealError(KioskError, ValueError):
    """A sealed value that cannot be opened: not ours, damaged, or not a sealed value at all."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SealError("not base64url") from exc


def _raw(public_key: X25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=_KEY_LEN, salt=ephemeral + recipient, info=INFO).derive(shared)


def raw_key_from_text(text: str, what: str) -> bytes:
    """The 32 raw bytes of a township key as written in kiosk.toml (base64), or a ValueError naming `what`."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"the {what} must be base64 of 32 bytes") from exc
    if len(raw) != 32:
        raise ValueError(f"the {what} is {len(raw)} bytes, not 32")
    return raw


def public_key_from_text(text: str) -> X25519PublicKey:
    """The township's sealing key as written in the kiosk configuration: base64 of the 32 raw bytes.

    A low-order point is refused here too (`kiosk.config` refuses it in the file): sealing to it
    fails on every code, and what it sealed anyone could open.
    """
    raw = raw_key_from_text(text, "sealing public key")
    problem = seal_key_problem(raw)
    if problem is not None:
        raise ValueError(f"the sealing public key is not usable: {problem}")
    return X25519PublicKey.from_public_bytes(raw)


def public_key_text(public_key: X25519PublicKey) -> str:
    """The inverse of `public_key_from_text`: what `kiosk township keygen` prints for kiosk.toml."""
    return base64.b64encode(_raw(public_key)).decode("ascii")


class SubjectSealer:
    """The kiosk's side: seals text to the township's public key; cannot open anything."""

    __slots__ = ("_recipient", "_recipient_raw")

    def __init__(self, township_public_key: X25519PublicKey) -> None:
        raw = _raw(township_public_key)
        problem = seal_key_problem(raw)
        if problem is not None:  # checked once here, not discovered on the first visitor's code
            raise ValueError(f"the sealing public key is not usable: {problem}")
        self._recipient = township_public_key
        self._recipient_raw = raw

    @classmethod
    def from_text(cls, text: str) -> SubjectSealer:
        return cls(public_key_from_text(text))

    def seal(self, plaintext: str) -> str:
        ephemeral = X25519PrivateKey.generate()
        ephemeral_raw = _raw(ephemeral.public_key())
        key = _key(ephemeral.exchange(self._recipient), ephemeral_raw, self._recipient_raw)
        sealed = ChaCha20Poly1305(key).encrypt(_NONCE, plaintext.encode("utf-8"), AAD)
        return PREFIX + _b64url(ephemeral_raw + sealed)

    def __repr__(self) -> str:
        return f"SubjectSealer({public_key_text(self._recipient)})"


class SubjectOpener:
    """The township's side: opens what any of its kiosks sealed."""

    __slots__ = ("_private", "_public_raw")

    def __init__(self, township_private_key: X25519PrivateKey) -> None:
        self._private = township_private_key
        self._public_raw = _raw(township_private_key.public_key())

    @classmethod
    def from_pem(cls, pem: bytes) -> SubjectOpener:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, X25519PrivateKey):
            raise ValueError(f"expected an X25519 private key, not {type(key).__name__}")
        return cls(key)

    @property
    def sealer(self) -> SubjectSealer:
        """A sealer for the matching public key (tests, and the township's own tools)."""
        return SubjectSealer(self._private.public_key())

    def open(self, sealed: str) -> str:
        """The plaintext; `SealError` for anything not sealed to this key or tampered with."""
        if not sealed.startswith(PREFIX):
            raise SealError(f"not a sealed value (no {PREFIX!r} prefix)")
        blob = _unb64url(sealed[len(PREFIX):])
        if len(blob) < 32 + 16:
            raise SealError("too short to be a sealed value")
        ephemeral_raw, ciphertext = blob[:32], blob[32:]
        try:
            shared = self._private.exchange(X25519PublicKey.from_public_bytes(ephemeral_raw))
            key = _key(shared, ephemeral_raw, self._public_raw)
            return ChaCha20Poly1305(key).decrypt(_NONCE, ciphertext, AAD).decode("utf-8")
        except (InvalidTag, ValueError, UnicodeDecodeError) as exc:
            raise SealError("cannot open: sealed to another key, or damaged") from exc


@lru_cache(maxsize=4)
def sealer_for(public_key_text_: str) -> SubjectSealer:
    """One parsed sealer per configured key (the event builder asks for it on every entry)."""
    return SubjectSealer.from_text(public_key_text_)
