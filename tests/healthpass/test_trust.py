"""Trust lists: what loads, what is refused at load (naming the entry), and the test issuer."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from kiosk.healthpass import TrustList, TrustListError, Verifier, kid_of
from kiosk.healthpass.issuer import TestIssuer, encode_text
from tests.paths import SHARED

VECTORS = SHARED / "health-pass" / "vectors"
needs_vectors = pytest.mark.skipif(not VECTORS.is_dir(), reason="../shared is not checked out beside the project")
AT = 1_765_900_000
ES = TestIssuer("ES256")
ED = TestIssuer("EdDSA")


def self_signed(key: Any) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other")])
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def entry_for(der: bytes, alg: str, iss: str = "EU-XX") -> dict[str, Any]:
    return {"kid": base64.b64encode(kid_of(der)).decode(), "iss": iss, "alg": alg,
            "certificate": base64.b64encode(der).decode()}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@needs_vectors
def test_loads_the_vectors_file() -> None:
    trust = TrustList.from_file(VECTORS / "trust-list.json")
    assert (trust.version, trust.issued_at, len(trust)) == (1, 1765811017, 2)
    assert {key.alg for key in trust} == {"ES256", "EdDSA"}
    assert all(key.kid in trust and trust.get(key.kid) is key for key in trust)
    assert trust.get(b"\0" * 8) is None and "not bytes" not in trust and [1] not in trust


def test_issuer_entries_round_trip() -> None:
    trust = TrustList.from_json(ES.trust_list_json(ED, version=4, issued_at=99))
    assert (trust.version, trust.issued_at) == (4, 99)
    assert trust.get(ES.kid).alg == "ES256" and trust.get(ED.kid).alg == "EdDSA"  # type: ignore[union-attr]
    assert "keys=2" in repr(trust)


def test_ps256_entries_are_read_for_hc1(rsa_key: rsa.RSAPrivateKey) -> None:
    """An RSA key loads as an HC1 signer (HC1 shares the list), and a THP1 code cannot claim it."""
    der = self_signed(rsa_key)
    trust = TrustList.from_json({"version": 1, "issued_at": 0, "keys": [entry_for(der, "PS256")]})
    key = trust.get(kid_of(der))
    assert key is not None and isinstance(key.public_key, rsa.RSAPublicKey) and key.format == "HC1"
    # A THP1 code that names this kid, signed any way it likes, is refused: the key is not a THP1 issuer's.
    forged = ES.sign(ES.claims("G", sid="s", iat=AT, exp=AT + 60), protected={1: -7, 4: kid_of(der)})
    assert Verifier(trust).verify(encode_text(forged), AT).error == "unknown_kid"


def broken(**changes: Any) -> dict[str, Any]:
    obj = ES.trust_list_json(ED)
    for key, value in changes.items():
        if key.startswith("entry_"):
            obj["keys"][1][key[len("entry_"):]] = value
        else:
            obj[key] = value
    return obj


ES_KID, ED_KID = (base64.b64encode(issuer.kid).decode() for issuer in (ES, ED))
BAD_LISTS: dict[str, tuple[Any, str]] = {
    "top-level-array": ([], "top level must be an object"),
    "no-version": ({"keys": []}, "version must be"),
    "version-text": (broken(version="3"), "version must be"),
    "issued-at-negative": (broken(issued_at=-1), "issued_at must be"),
    "keys-not-list": (broken(keys={}), "keys must be a list"),
    "entry-not-object": (broken(keys=["x"]), r"keys\[0\]: an entry must be an object"),
    "kid-mismatch": (broken(entry_kid=ES_KID),
                     rf"keys\[1\] \(kid {re.escape(ES_KID)}, iss 'CN-HN'\): kid does not match"),
    "kid-not-base64": (broken(entry_kid="not base64!"), r"keys\[1\].*kid is not valid base64"),
    "kid-wrong-length": (broken(entry_kid=base64.b64encode(ED.kid + b"x").decode()), "kid is 9 bytes"),
    "kid-missing": (broken(entry_kid=None), "kid must be a base64 string"),
    "certificate-garbage": (broken(entry_certificate=base64.b64encode(b"junk").decode()),
                            rf"keys\[1\] \(kid {re.escape(ED_KID)}.*not a DER X.509"),
    "alg-unknown": (broken(entry_alg="RS256"), "alg 'RS256' is not one of ES256, EdDSA, PS256"),
    "alg-wrong-for-key": (broken(entry_alg="ES256"), "Ed25519PublicKey cannot be used for ES256"),
    "iss-missing": (broken(entry_iss=""), "iss must be"),
    "duplicate-kid-clashing": ({"version": 1, "keys": [ES.trust_entry(), {**ES.trust_entry(), "iss": "CN-BJ"}]},
                               "listed twice, differently"),
}


def test_the_same_entry_listed_twice_is_one_key() -> None:
    """Merged lists (one entry per certificate a corpus uses) repeat entries: the same key twice says nothing new."""
    trust = TrustList.from_json({"version": 1, "keys": [ES.trust_entry(), ED.trust_entry(), ES.trust_entry()]})
    assert len(trust) == 2 and ES.kid in trust


@pytest.mark.parametrize(("obj", "message"), BAD_LISTS.values(), ids=BAD_LISTS.keys())
def test_unusable_lists_are_refused_naming_the_entry(obj: Any, message: str) -> None:
    with pytest.raises(TrustListError, match=message):
        TrustList.from_json(obj)


def test_es256_must_be_p256() -> None:
    der = self_signed(ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(TrustListError, match="ES256 needs a P-256 key, not secp384r1"):
        TrustList.from_json({"version": 1, "keys": [entry_for(der, "ES256")]})


def test_trust_list_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        TrustList.from_json([])


def test_from_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "trust.json"
    path.write_text("{not json")
    with pytest.raises(TrustListError, match=re.escape(str(path))):
        TrustList.from_file(path)
    path.write_text(json.dumps(broken(entry_alg="ES256")))
    with pytest.raises(TrustListError, match=rf"{re.escape(str(path))}: keys\[1\]"):
        TrustList.from_file(path)
    path.write_text(json.dumps(ES.trust_list_json()))
    assert len(TrustList.from_file(str(path))) == 1


# ------------------------------------------------------------------------------------------- issuer


@needs_vectors
def test_shared_issuer_from_pem_recreates_vector_codes() -> None:
    """The vectors' key re-signs a code the vectors' trust list accepts, as the vectors do."""
    issuer = TestIssuer.from_files(VECTORS / "issuer-key.pem", VECTORS / "issuer-cert.pem")
    cases = {case["name"]: case for case in json.loads((VECTORS / "cases.json").read_text())}
    green = cases["green"]
    trust = TrustList.from_file(VECTORS / "trust-list.json")
    assert issuer.alg == "ES256" and issuer.kid in trust
    at = green["validation_clock"]
    text = issuer.issue("G", sid="TEmh3Sc-TY-rX1vb", name="张*卿", iat=at - 20, exp=at + 86400,
                        trip_areas=["430626"], nat=at - 72000)
    mine, theirs = (Verifier(trust).verify(t, at) for t in (text, green["qr_text"]))
    assert mine.valid and mine == theirs


def test_issuer_refuses_what_it_cannot_sign(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="ES256 or EdDSA"):
        TestIssuer("PS256")
    with pytest.raises(ValueError, match="not EdDSA"):
        TestIssuer("EdDSA", private_key=ES.private_key)
    pem = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    with pytest.raises(ValueError, match="cannot sign THP1"):
        TestIssuer.from_pem(pem, b"")


def test_issuers_are_independent_and_not_trusted_by_each_other() -> None:
    other = TestIssuer("ES256")
    assert other.kid != ES.kid and other.kid not in ES.trust_list()
    text = other.issue("G", sid="s", iat=AT, exp=AT + 9)
    assert Verifier(ES.trust_list()).verify(text, AT).error == "unknown_kid"
    assert "ES256" in repr(other) and other.kid.hex() in repr(other)
