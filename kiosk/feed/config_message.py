"""The township's configuration message: a signed envelope, its keys, and what it may carry.

The broker is not trusted with the content: a message counts only if it is signed with the
township's configuration key (Ed25519; the public half is `uplink.config_public_key` in the
kiosk's own file).  The wire format (`config/asyncapi.yaml`, message `config`)::

    {"alg": "Ed25519", "payload": "<base64 of the exact signed bytes>", "signature": "<base64, 64 bytes>"}

The signature covers the payload bytes exactly as sent, so no canonical-JSON rules need to agree
between signer and verifier.  The payload is a JSON object (`ConfigPayload`)::

    {"version": 7, "issued_at": 1764000000, "township": "T", "kiosk": null | "T/S/K",
     "policy": {... PolicyConfig keys ...}, "trust_list": {... THP1 trust list ...}  (optional)}

`open_envelope` checks everything a message says about itself (well formed, signed by the
township's key, a payload of the known keys); whether it is meant for this kiosk, newer than
the rules in force and applicable is `kiosk.feed.remote_config`'s to judge.  A message that
fails raises `ConfigRefused` with one of `REASONS`, which `config/ack` reports to the township.
`sign_config` is the township's side (`kiosk township push-config`).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kiosk.config_problems import WHY, config_key_problem, words_for
from kiosk.errors import KioskError
from kiosk.feed.sealing import raw_key_from_text

ALG = "Ed25519"
ISSUED_AT_MIN = 1_577_836_800  # 2020-01-01: earlier is not a configuration of this kiosk
ISSUED_AT_MAX = 4_102_444_800  # 2100-01-01
MAX_MESSAGE_BYTES = 256 * 1024  # a trust list of a few hundred issuers; more is an attack, not a config

# Reasons on `config/ack` (the AsyncAPI document lists the same words).
MALFORMED = "malformed"  # not a JSON envelope at all
UNSIGNED = "unsigned"  # no signature
NO_KEY = "no_key"  # this kiosk has no township configuration key: it accepts nothing
BAD_SIGNATURE = "bad_signature"  # not signed by the township's key (or altered since)
INVALID = "invalid"  # signed, but not a valid configuration (detail says which key)
WRONG_TARGET = "wrong_target"  # signed for another township or another kiosk, or on the wrong topic
STALE = "stale"  # a version not newer than the one applied
REASONS = (MALFORMED, UNSIGNED, NO_KEY, BAD_SIGNATURE, INVALID, WRONG_TARGET, STALE)


class ConfigRefused(KioskError):
    """A configuration message refused, for `reason` (one of `REASONS`); `detail` says exactly why."""

    def __init__(self, reason: str, detail: str = "", version: int | None = None, *, final: bool = True) -> None:
        super().__init__(reason)
        self.reason, self.detail, self.version = reason, detail, version
        self.final = final  # False: the same bytes may pass later (issued in the future), so not remembered


# ------------------------------------------------------------------------------------ keys
def public_key_from_text(text: str) -> Ed25519PublicKey:
    """The township's configuration key as written in kiosk.toml: base64 of the 32 raw bytes.

    A low-order (or non-canonically encoded) point is refused (`ValueError`): with it, a forged
    signature verifies on every message, or on one in a few (`kiosk.config_problems.config_key_problem`).
    """
    raw = raw_key_from_text(text, "configuration public key")
    problem = config_key_problem(raw)
    if problem is not None:
        raise ValueError(f"the configuration public key is not usable: {problem}")
    return Ed25519PublicKey.from_public_bytes(raw)


def _key_problem(key: Ed25519PublicKey) -> str | None:
    return config_key_problem(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def sign_config(private_key: Ed25519PrivateKey, payload: dict[str, Any]) -> bytes:
    """The message `push-config` publishes: the payload serialised once, signed as those bytes."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    return json.dumps({"alg": ALG, "payload": base64.b64encode(body).decode(),
                       "signature": base64.b64encode(private_key.sign(body)).decode()}).encode()


# ------------------------------------------------------------------------------------ the payload
class ConfigPayload(BaseModel):
    """What the township signs.  `extra="forbid"`: a key this kiosk does not know is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1, le=2**53, description="One increasing sequence per township.")
    issued_at: int = Field(ge=ISSUED_AT_MIN, le=ISSUED_AT_MAX, description="Epoch seconds when the township signed it.")
    township: str = Field(min_length=1, max_length=64)
    kiosk: str | None = Field(None, description="`T/S/K` for one kiosk; null for the whole township.")
    policy: dict[str, Any]
    trust_list: dict[str, Any] | None = None


def open_envelope(message: bytes, public_key: Ed25519PublicKey | None) -> tuple[ConfigPayload, bytes]:
    """The payload of a signed configuration message and the exact bytes signed; or `ConfigRefused`."""
    if len(message) > MAX_MESSAGE_BYTES:
        raise ConfigRefused(MALFORMED, f"{len(message)} bytes, more than {MAX_MESSAGE_BYTES}")
    try:
        envelope = json.loads(message)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigRefused(MALFORMED, f"not JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise ConfigRefused(MALFORMED, "not a JSON object")
    if "signature" not in envelope or "payload" not in envelope:
        raise ConfigRefused(UNSIGNED, "a configuration must be a signed envelope {alg, payload, signature}")
    if envelope.get("alg") != ALG:
        raise ConfigRefused(BAD_SIGNATURE, f"alg must be {ALG!r}, not {envelope.get('alg')!r}")
    if public_key is None:
        raise ConfigRefused(NO_KEY, "uplink.config_public_key is not set on this kiosk")
    weak = _key_problem(public_key)
    if weak is not None:  # however the key got here: it would verify forgeries
        raise ConfigRefused(NO_KEY, f"uplink.config_public_key is not usable ({weak}): nothing is accepted")
    try:
        body = base64.b64decode(envelope["payload"], validate=True)
        signature = base64.b64decode(envelope["signature"], validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ConfigRefused(MALFORMED, f"payload or signature is not base64: {exc}") from None
    try:
        public_key.verify(signature, body)
    except InvalidSignature:
        raise ConfigRefused(BAD_SIGNATURE, "the signature does not verify with the township's key") from None
    try:
        return ConfigPayload.model_validate_json(body), body
    except ValidationError as exc:
        raise ConfigRefused(INVALID, errors_in_one_line(exc)) from None


def errors_in_one_line(exc: ValidationError, *, section: str = "") -> str:
    """The errors in one line for the township (English): key path and plain words
    (`kiosk.config_problems`, with why a bound is where it is), never the (possibly huge) input."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        _, en = words_for(err)
        why = WHY.get(f"{section}.{where}" if section else where)
        bound = err["type"].endswith(("than", "than_equal"))
        parts.append(f"{where}: {en}" + (f" ({why[1]})" if why and bound else ""))
    return "; ".join(parts)
