"""`TestIssuer`: signs THP1 codes the way the health-code platform does, for tests and simulation.

It makes its own key and self-signed certificate (so a test can have as many issuers as it
needs, trusted or not), or loads the shared test issuer's key from PEM to re-create the
conformance vectors.  Beside `issue`, which builds a correct code, the lower-level `claims`,
`sign` and `encode_text` let a test build each layer wrong on purpose: a DER signature, a
header with the wrong alg, a payload that was never compressed.

Never for production: the keys live in memory, unprotected.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import base45
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from kiosk.healthpass.claims import CLAIM_EXP, CLAIM_IAT, CLAIM_ISS, CLAIM_THP, THP_VERSION
from kiosk.healthpass.container import THP1_PREFIX
from kiosk.healthpass.cose import (
    ALG_IDS,
    COSE_SIGN1_TAG,
    CWT_TAG,
    HEADER_ALG,
    HEADER_KID,
    P256_ORDER,
    PS256_PADDING,
    sig_structure,
)
from kiosk.healthpass.trust import TrustList, kid_of

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


def encode_text(cose_bytes: bytes, *, compress: bool = True, prefix: str = THP1_PREFIX) -> str:
    """COSE bytes → QR text: zlib (unless told not to), Base45, prefix."""
    data = zlib.compress(cose_bytes, 9) if compress else cose_bytes
    return prefix + base45.b45encode(data).decode("ascii")


def with_s_half(signature: bytes, *, high: bool) -> bytes:
    """An ES256 r||s signature with s replaced by n−s where needed so that s is above (or below) n/2.

    Both verify: ECDSA signatures are malleable.  Tests use it to show that nothing depends on which.
    """
    r, s = signature[:32], int.from_bytes(signature[32:], "big")
    if (s > P256_ORDER // 2) != high:
        s = P256_ORDER - s
    return r + s.to_bytes(32, "big")


def _generate(alg: str) -> PrivateKey:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "PS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"no test key for {alg!r}")


def _alg_of(key: PrivateKey) -> str | None:
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    if isinstance(key, rsa.RSAPrivateKey):
        return "PS256"
    return None


def _self_signed(
    key: PrivateKey, common_name: str, *, country: str = "CN", start: dt.datetime | None = None,
    days: int = 3650, usages: Iterable[str] = (),
) -> x509.Certificate:
    """A self-signed certificate; `usages` are extended key usage OIDs (HC1 signers restrict kinds so)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, country)])
    start = start or dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(name).issuer_name(name)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days)))
    oids = [x509.ObjectIdentifier(oid) for oid in usages]
    if oids:
        builder = builder.add_extension(x509.ExtendedKeyUsage(oids), critical=False)
    # Ed25519 signs the message itself: it takes no separate hash algorithm.
    return builder.sign(key, None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256())


class TestIssuer:
    """A THP1 issuer with one key; everything after the first argument is keyword-only.

    Subclasses for other formats (`kiosk.healthpass.dcc_issuer.DccTestIssuer`) change the class
    attributes and the claims; keys, certificates, COSE signing and the text encoding are shared.
    """

    __test__ = False  # a helper, not a pytest test class
    FORMAT = "THP1"
    PREFIX = THP1_PREFIX
    ALGS: tuple[str, ...] = ("ES256", "EdDSA")

    def __init__(
        self,
        alg: str = "ES256",
        *,
        iss: str = "CN-HN",
        private_key: PrivateKey | None = None,
        certificate: x509.Certificate | None = None,
        common_name: str = "THP test issuer",
    ) -> None:
        if alg not in self.ALGS:
            raise ValueError(f"{type(self).__name__} signs {' or '.join(self.ALGS)}, not {alg!r}")
        if private_key is None:
            private_key = _generate(alg)
        elif _alg_of(private_key) != alg:
            raise ValueError(f"the private key is for {_alg_of(private_key)}, not {alg}")
        if certificate is None:
            certificate = self._certificate(private_key, common_name)
        self.alg = alg
        self.iss = iss
        self.private_key = private_key
        self.certificate = certificate
        self.certificate_der = certificate.public_bytes(serialization.Encoding.DER)
        self.kid = kid_of(self.certificate_der)

    @classmethod
    def from_pem(cls, key_pem: bytes, cert_pem: bytes, *, iss: str = "CN-HN") -> TestIssuer:
        """The issuer of an existing key and certificate (e.g. the shared vectors' test issuer)."""
        key = serialization.load_pem_private_key(key_pem, password=None)
        alg = _alg_of(key)  # type: ignore[arg-type]
        if alg not in cls.ALGS:
            raise ValueError(f"a {type(key).__name__} cannot sign {cls.FORMAT} codes")
        certificate = x509.load_pem_x509_certificate(cert_pem)
        return cls(alg, iss=iss, private_key=key, certificate=certificate)  # type: ignore[arg-type]

    @classmethod
    def from_files(cls, key_path: str | os.PathLike[str], cert_path: str | os.PathLike[str], *,
                   iss: str = "CN-HN") -> TestIssuer:
        with open(key_path, "rb") as key_fh, open(cert_path, "rb") as cert_fh:
            return cls.from_pem(key_fh.read(), cert_fh.read(), iss=iss)

    def _certificate(self, private_key: PrivateKey, common_name: str) -> x509.Certificate:
        return _self_signed(private_key, common_name)

    # ------------------------------------------------------------------------------ trust list

    def trust_entry(self) -> dict[str, Any]:
        """This issuer's `keys[]` entry in the spec's trust-list format (with `format` unless THP1)."""
        entry = {"kid": base64.b64encode(self.kid).decode(), "iss": self.iss, "alg": self.alg,
                 "certificate": base64.b64encode(self.certificate_der).decode()}
        if self.FORMAT != "THP1":
            entry["format"] = self.FORMAT
        return entry

    def trust_list_json(self, *others: TestIssuer, version: int = 1, issued_at: int = 0) -> dict[str, Any]:
        """A trust-list JSON object (not text) holding this issuer and any `others`."""
        return {"version": version, "issued_at": issued_at,
                "keys": [issuer.trust_entry() for issuer in (self, *others)]}

    def trust_list(self, *others: TestIssuer) -> TrustList:
        return TrustList.from_json(self.trust_list_json(*others))

    # ---------------------------------------------------------------------------------- codes

    def claims(
        self,
        colour: str,
        *,
        sid: str,
        name: str | None = None,
        iat: int,
        exp: int,
        trip_areas: Iterable[str] = (),
        trip_days: int = 14,
        star: bool = False,
        nat: int | None = None,
    ) -> dict[Any, Any]:
        """The CWT claims map of a code, to sign as is or to spoil first."""
        thp: dict[str, Any] = {"v": THP_VERSION, "c": colour}
        if name is not None:
            thp["n"] = name
        thp["sid"] = sid
        thp["trip"] = {"d": trip_days, "a": list(trip_areas), "x": star}
        thp["nat"] = nat
        return {CLAIM_ISS: self.iss, CLAIM_IAT: iat, CLAIM_EXP: exp, CLAIM_THP: thp}

    def sign(
        self,
        payload: Any,
        *,
        protected: Mapping[Any, Any] | bytes | None = None,
        unprotected: Mapping[Any, Any] | None = None,
        kid_in_unprotected: bool = False,
        der_signature: bool = False,
        tagged: bool = True,
        cwt_tag: bool = False,
        high_s: bool | None = None,
    ) -> bytes:
        """A COSE_Sign1 over `payload`, as CBOR bytes.

        `payload` is used as is when it is bytes and CBOR-encoded otherwise, so a test can sign
        claims of any shape, or bytes that are not CBOR at all.

        `protected` replaces the usual {alg, kid} header (a map is encoded, bytes are used as
        they are); `der_signature` leaves an ES256 signature in DER instead of r||s.  `cwt_tag`
        wraps the tagged COSE_Sign1 in the CWT tag 61 (RFC 8392 §6); `high_s` forces an ES256
        signature's s above n/2 (True) or below it (False), as real signers emit either.
        """
        payload_bytes = payload if isinstance(payload, bytes) else cbor2.dumps(payload)
        header: dict[Any, Any] = {HEADER_ALG: ALG_IDS[self.alg]}
        extra: dict[Any, Any] = {}
        if kid_in_unprotected:
            extra[HEADER_KID] = self.kid
        else:
            header[HEADER_KID] = self.kid
        extra.update(unprotected or {})  # the caller's headers win, to build wrong codes on purpose
        if protected is None:
            protected_bytes = cbor2.dumps(header)
        elif isinstance(protected, bytes):
            protected_bytes = protected
        else:
            protected_bytes = cbor2.dumps(dict(protected))
        signature = self.signature(sig_structure(protected_bytes, payload_bytes), der=der_signature)
        if high_s is not None and not der_signature and len(signature) == 64:
            signature = with_s_half(signature, high=high_s)
        sign1: Any = [protected_bytes, extra, payload_bytes, signature]
        if tagged or cwt_tag:
            sign1 = cbor2.CBORTag(COSE_SIGN1_TAG, sign1)
        return cbor2.dumps(cbor2.CBORTag(CWT_TAG, sign1) if cwt_tag else sign1)

    def signature(self, message: bytes, *, der: bool = False) -> bytes:
        """Sign `message` the COSE way (ES256 as raw r||s unless `der`; PS256 with a 32-byte salt)."""
        if isinstance(self.private_key, ed25519.Ed25519PrivateKey):
            return self.private_key.sign(message)
        if isinstance(self.private_key, rsa.RSAPrivateKey):
            return self.private_key.sign(message, PS256_PADDING, hashes.SHA256())
        signature = self.private_key.sign(message, ec.ECDSA(hashes.SHA256()))
        if der:
            return signature
        r, s = decode_dss_signature(signature)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def issue(
        self,
        colour: str,
        *,
        sid: str,
        name: str | None = None,
        iat: int,
        exp: int,
        trip_areas: Iterable[str] = (),
        trip_days: int = 14,
        star: bool = False,
        nat: int | None = None,
        kid_in_unprotected: bool = False,
    ) -> str:
        """The QR text of a correct code with these claims."""
        claims = self.claims(colour, sid=sid, name=name, iat=iat, exp=exp, trip_areas=trip_areas,
                             trip_days=trip_days, star=star, nat=nat)
        return encode_text(self.sign(claims, kid_in_unprotected=kid_in_unprotected), prefix=self.PREFIX)

    def __repr__(self) -> str:
        return f"TestIssuer({self.alg!r}, iss={self.iss!r}, kid={self.kid.hex()})"
