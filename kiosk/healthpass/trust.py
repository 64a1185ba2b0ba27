"""The issuers the kiosk trusts: a key id → public key table read from the spec's JSON format.

A trust list is loaded once at start (or when the feed replaces it) and then only looked up, so
every check that can be made on the list itself is made at load time and fails loudly, naming
the entry: a kid that is not the hash of its certificate, a key of the wrong type for its alg, a
certificate that does not parse.  A kiosk that started has a list it can use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from kiosk.healthpass.errors import TrustListError
from kiosk.healthpass.usages import Unreadable, extended_key_usages

KID_LENGTH: Final = 8
MIN_RSA_BITS: Final = 2048  # the EU DCC's minimum for PS256 document signers
# The formats a key may sign, and the algs each allows.  An entry names its format in the optional
# `format` field (this kiosk's extension of the spec's list, see kiosk/healthpass/README.md); without it a
# key is a THP1 issuer's, except a PS256 key, which only HC1 uses.
FORMAT_ALGS: Final[Mapping[str, frozenset[str]]] = MappingProxyType({
    "THP1": frozenset({"ES256", "EdDSA"}),
    "HC1": frozenset({"ES256", "PS256", "EdDSA"}),
})
# alg name → the public key type it needs.
ALGORITHMS: Final[Mapping[str, type]] = MappingProxyType({
    "ES256": ec.EllipticCurvePublicKey,
    "EdDSA": ed25519.Ed25519PublicKey,
    "PS256": rsa.RSAPublicKey,
})

# Extended key usages a DCC document signer may carry to restrict what it signs (EU DCC spec, with
# the variant under .0.1847 that some member states issued); a signer with none of them signs all kinds.
KIND_USAGES: Final[Mapping[str, frozenset[str]]] = MappingProxyType({
    "test": frozenset({"1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1"}),
    "vaccination": frozenset({"1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"}),
    "recovery": frozenset({"1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3"}),
})
ALL_USAGES: Final = frozenset().union(*KIND_USAGES.values())

PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey


def kid_of(certificate_der: bytes) -> bytes:
    """The key id THP1 and HC1 use: the first 8 bytes of SHA-256 over the certificate's DER."""
    return hashlib.sha256(certificate_der).digest()[:KID_LENGTH]


MAX_FILE_CHARS = 16 * 1024 * 1024  # a trust list file: a few thousand issuers are a few MB


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """One issuer key, with its public key parsed once so that verification is only arithmetic."""

    kid: bytes
    iss: str
    alg: str
    public_key: PublicKey
    certificate: x509.Certificate
    format: str = "THP1"  # the one code format this key may sign: a THP1 key cannot vouch for an HC1
    usages: frozenset[str] = frozenset()  # the certificate's extended key usages (HC1 signers' kind limits)
    not_before: float = float("-inf")  # the certificate's validity, epoch seconds (read once, at load)
    not_after: float = float("inf")

    def same_as(self, other: TrustedKey) -> bool:
        """The same entry listed again (same certificate, issuer, alg and format): harmless, unlike a clash."""
        return (self.kid, self.iss, self.alg, self.format, self.certificate) == (
            other.kid, other.iss, other.alg, other.format, other.certificate)


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{what} is not valid base64") from exc


def _key_from_entry(entry: object) -> TrustedKey:
    """Check one `keys[]` entry; raises ValueError with what is wrong (the caller adds where)."""
    if not isinstance(entry, Mapping):
        raise ValueError("an entry must be an object")
    iss, alg = entry.get("iss"), entry.get("alg")
    if not isinstance(iss, str) or not iss:
        raise ValueError("iss must be a non-empty string")
    if alg not in ALGORITHMS:
        raise ValueError(f"alg {alg!r} is not one of {', '.join(ALGORITHMS)}")
    kid = _b64(entry.get("kid"), "kid")
    if len(kid) != KID_LENGTH:
        raise ValueError(f"kid is {len(kid)} bytes, not {KID_LENGTH}")
    der = _b64(entry.get("certificate"), "certificate")
    try:
        certificate = x509.load_der_x509_certificate(der)
        public_key = certificate.public_key()
    except Exception as exc:
        raise ValueError(f"certificate is not a DER X.509 certificate ({exc})") from exc
    if kid != kid_of(der):
        raise ValueError(f"kid does not match the certificate (SHA-256 of the DER gives "
                         f"{base64.b64encode(kid_of(der)).decode()})")
    if not isinstance(public_key, ALGORITHMS[alg]):
        raise ValueError(f"the certificate's {type(public_key).__name__} cannot be used for {alg}")
    if isinstance(public_key, ec.EllipticCurvePublicKey) and not isinstance(public_key.curve, ec.SECP256R1):
        raise ValueError(f"ES256 needs a P-256 key, not {public_key.curve.name}")
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < MIN_RSA_BITS:
        raise ValueError(f"a {public_key.key_size}-bit RSA key is too weak (PS256 needs {MIN_RSA_BITS} or more)")
    code_format = entry.get("format", "HC1" if alg == "PS256" else "THP1")
    if code_format not in FORMAT_ALGS:
        raise ValueError(f"format {code_format!r} is not one of {', '.join(FORMAT_ALGS)}")
    if alg not in FORMAT_ALGS[code_format]:
        raise ValueError(f"{code_format} issuers do not sign with {alg}")
    try:
        usages = extended_key_usages(certificate)
    except Unreadable as exc:
        raise ValueError(f"the certificate's extended key usage cannot be read ({exc})") from exc
    return TrustedKey(kid=kid, iss=iss, alg=alg, public_key=public_key, certificate=certificate,
                      format=code_format, usages=usages, not_before=certificate.not_valid_before_utc.timestamp(),
                      not_after=certificate.not_valid_after_utc.timestamp())


class TrustList:
    """An immutable table of trusted issuer keys by kid.

    Build one with `from_file` (the configuration's path, or `--trust`) or `from_json` (an
    object already parsed, e.g. from a signed feed message whose signature was checked).
    """

    __slots__ = ("_keys", "issued_at", "version")

    def __init__(self, keys: Iterable[TrustedKey], *, version: int = 0, issued_at: int = 0) -> None:
        table: dict[bytes, TrustedKey] = {}
        for key in keys:
            listed = table.get(key.kid)
            if listed is not None and not listed.same_as(key):
                raise TrustListError(f"kid {base64.b64encode(key.kid).decode()} is listed twice, differently")
            table.setdefault(key.kid, key)
        self._keys: Mapping[bytes, TrustedKey] = MappingProxyType(table)
        self.version = version
        self.issued_at = issued_at

    @classmethod
    def from_json(cls, obj: Any, *, source: str = "trust list") -> TrustList:
        """Build from the parsed JSON object; `source` names it in error messages."""
        if not isinstance(obj, Mapping):
            raise TrustListError(f"{source}: the top level must be an object")
        version, issued_at, entries = obj.get("version"), obj.get("issued_at", 0), obj.get("keys")
        for name, value in (("version", version), ("issued_at", issued_at)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise TrustListError(f"{source}: {name} must be a non-negative integer, not {value!r}")
        if not isinstance(entries, list):
            raise TrustListError(f"{source}: keys must be a list")
        keys = []
        for index, entry in enumerate(entries):
            try:
                keys.append(_key_from_entry(entry))
            except ValueError as exc:
                label = f"keys[{index}]"
                if isinstance(entry, Mapping) and isinstance(entry.get("kid"), str):
                    label += f" (kid {entry['kid']}, iss {entry.get('iss')!r})"
                raise TrustListError(f"{source}: {label}: {exc}") from exc
        try:
            return cls(keys, version=version, issued_at=issued_at)
        except TrustListError as exc:
            raise TrustListError(f"{source}: {exc}") from exc

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TrustList:
        """Read a trust list file; a local file is trusted as it is (no signature).

        A UTF-8 byte-order mark (Windows Notepad writes one) is dropped, as in kiosk.toml.  A file
        larger than `MAX_FILE_CHARS` is refused before it fills the memory (`--trust /dev/zero`).
        """
        mode = os.stat(path).st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):  # open() would wait for a writer, for ever
            raise TrustListError(f"{os.fspath(path)}: not a regular file (a fifo or a socket): not a trust list")
        with open(path, encoding="utf-8-sig") as fh:
            text = fh.read(MAX_FILE_CHARS + 1)
        if len(text) > MAX_FILE_CHARS:
            raise TrustListError(f"{os.fspath(path)}: larger than {MAX_FILE_CHARS // 1024 // 1024} MB: "
                                 "not a trust list")
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TrustListError(f"{os.fspath(path)}: not JSON: {exc}") from exc
        return cls.from_json(obj, source=os.fspath(path))

    def get(self, kid: bytes) -> TrustedKey | None:
        """The trusted key with this kid, or None."""
        return self._keys.get(kid)

    def __contains__(self, kid: object) -> bool:
        return isinstance(kid, bytes) and kid in self._keys

    def __iter__(self) -> Iterator[TrustedKey]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"TrustList(version={self.version}, issued_at={self.issued_at}, keys={len(self)})"
