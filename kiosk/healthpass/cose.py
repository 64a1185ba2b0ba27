"""COSE_Sign1 (RFC 9052) as THP1 and HC1 use it: shape, headers, and the signature over Sig_structure.

Only the algorithms each format's issuers use are read (THP1: ES256, EdDSA; HC1 adds PS256, RSA-PSS
as RFC 8230 defines it for COSE); the alg must sit in the protected header, where the signature
covers it, so that nobody can swap it for a weaker one.  The kid may sit in either header (some
HC1 issuers put it in the unprotected one; the protected one wins when both have one): it only
selects a key, and a wrong key fails to verify.  The COSE_Sign1 tag (18) and the CWT tag (61,
RFC 8392 §6, which wraps the tagged COSE message) are both optional: no signature covers a tag,
so a tag carries no trust either way; a tag naming another structure is refused.

ECDSA signatures are malleable: (r, n−s) verifies wherever (r, s) does.  Both are accepted, in
both formats (kiosk/healthpass/README.md says why); nothing downstream identifies a code by its
signature bytes (`CodeIdentity` is what the code says).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from kiosk.healthpass.container import loads_cbor
from kiosk.healthpass.errors import COSE, SIGNATURE, CodeRejected
from kiosk.healthpass.trust import TrustedKey

COSE_SIGN1_TAG: Final = 18
CWT_TAG: Final = 61
HEADER_ALG: Final = 1
HEADER_CRIT: Final = 2
HEADER_KID: Final = 4
# COSE algorithm identifier → trust-list alg name, for every algorithm a format here allows.
ALG_NAMES: Final[Mapping[int, str]] = {-7: "ES256", -8: "EdDSA", -37: "PS256"}
ALG_IDS: Final[Mapping[str, int]] = {name: ident for ident, name in ALG_NAMES.items()}
THP1_ALGS: Final = frozenset({-7, -8})
HC1_ALGS: Final = frozenset({-7, -8, -37})
ES256_SIGNATURE_LENGTH: Final = 64  # r || s, 32 bytes each
P256_ORDER: Final = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # n of P-256
# RFC 8230: PS256 is RSASSA-PSS with SHA-256, MGF1 with SHA-256, and a salt as long as the hash.
PS256_PADDING: Final = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


@dataclass(frozen=True, slots=True)
class Sign1:
    """A COSE_Sign1 whose shape and headers were checked, not yet its signature.

    `protected` is kept as the exact bytes received: the signature covers those bytes, not a
    re-encoding of the map decoded from them.
    """

    protected: bytes
    alg: int
    kid: bytes
    payload: bytes
    signature: bytes

    @property
    def alg_name(self) -> str:
        return ALG_NAMES[self.alg]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_sign1(item: Any, algs: frozenset[int] = THP1_ALGS) -> Sign1:
    """Check that a decoded CBOR item is a COSE_Sign1 with one of `algs`; otherwise `cose`."""
    if isinstance(item, cbor2.CBORTag) and item.tag == CWT_TAG:
        item = item.value
    if isinstance(item, cbor2.CBORTag):
        if item.tag != COSE_SIGN1_TAG:
            raise CodeRejected(COSE, f"CBOR tag {item.tag}, not {COSE_SIGN1_TAG} (COSE_Sign1) or {CWT_TAG} (CWT)")
        item = item.value
    # cbor2 gives a tuple, not a list, for an array inside a tag.
    if not isinstance(item, list | tuple) or len(item) != 4:
        raise CodeRejected(COSE, "not an array of 4 (protected, unprotected, payload, signature)")
    protected, unprotected, payload, signature = item
    if not isinstance(protected, bytes):
        raise CodeRejected(COSE, "protected header is not a byte string")
    if not isinstance(unprotected, Mapping):
        raise CodeRejected(COSE, "unprotected header is not a map")
    if not isinstance(payload, bytes):
        raise CodeRejected(COSE, "payload is not a byte string (a detached payload cannot be read)")
    if not isinstance(signature, bytes):
        raise CodeRejected(COSE, "signature is not a byte string")
    try:
        header = loads_cbor(protected) if protected else {}
    except Exception as exc:
        raise CodeRejected(COSE, f"protected header is not CBOR ({type(exc).__name__})") from exc
    if not isinstance(header, Mapping):
        raise CodeRejected(COSE, "protected header is not a map")
    if HEADER_CRIT in header:
        raise CodeRejected(COSE, "protected header lists critical parameters THP1 does not define")
    alg = header.get(HEADER_ALG)
    if not _is_int(alg) or alg not in algs:
        allowed = ", ".join(f"{ALG_NAMES[a]} ({a})" for a in sorted(algs, reverse=True))
        raise CodeRejected(COSE, f"alg {alg!r} in the protected header is not one of {allowed}")
    kid = header[HEADER_KID] if HEADER_KID in header else unprotected.get(HEADER_KID)
    if not isinstance(kid, bytes):
        raise CodeRejected(COSE, "no kid (a byte string) in either header")
    return Sign1(protected=protected, alg=alg, kid=kid, payload=payload, signature=signature)


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The bytes a COSE_Sign1 signature covers: ["Signature1", protected, external_aad, payload]."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def verify_signature(sign1: Sign1, key: TrustedKey) -> None:
    """Verify with the trusted key, or raise `signature`.

    The code's alg must be the one the trust list gives for the key: the list, not the code,
    says how a key may be used.  ES256 signatures must be raw r||s (COSE); a DER signature is a
    malformed code, not a second accepted encoding.
    """
    if sign1.alg_name != key.alg:
        raise CodeRejected(SIGNATURE, f"code says {sign1.alg_name}, the trusted key is {key.alg}")
    message = sig_structure(sign1.protected, sign1.payload)
    try:
        if isinstance(key.public_key, ec.EllipticCurvePublicKey):
            if len(sign1.signature) != ES256_SIGNATURE_LENGTH:
                raise CodeRejected(SIGNATURE, f"ES256 signature is {len(sign1.signature)} bytes, not r||s 64")
            r = int.from_bytes(sign1.signature[:32], "big")
            s = int.from_bytes(sign1.signature[32:], "big")
            key.public_key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key.public_key, ed25519.Ed25519PublicKey):
            key.public_key.verify(sign1.signature, message)
        elif isinstance(key.public_key, rsa.RSAPublicKey):
            if len(sign1.signature) != (key.public_key.key_size + 7) // 8:
                raise CodeRejected(SIGNATURE, f"PS256 signature is {len(sign1.signature)} bytes, "
                                              f"not the key's {(key.public_key.key_size + 7) // 8}")
            key.public_key.verify(sign1.signature, message, PS256_PADDING, hashes.SHA256())
        else:
            raise CodeRejected(SIGNATURE, f"no verification for {key.alg} keys")
    except InvalidSignature as exc:
        raise CodeRejected(SIGNATURE, "signature does not verify") from exc
    except (ValueError, TypeError, OverflowError) as exc:  # what a backend may say of a malformed signature
        raise CodeRejected(SIGNATURE, f"signature cannot be checked ({type(exc).__name__})") from exc
