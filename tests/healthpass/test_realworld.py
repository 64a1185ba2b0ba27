"""How member states really encode their certificates: each encoding the EU test data shows, read right.

Every certificate is signed at test time by our own document signers, built the way a real issuer
built it: the CWT tag 61, the kid in the unprotected header (or in both), float NumericDates, a
signer certificate whose extensions `cryptography` refuses to parse, high-s ECDSA signatures.
Schema deviations and lenient field reading are in test_dcc.py; the whole corpus in the test data's
own format is in test_dcc_testdata.py.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

import base45
import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.healthpass import ERRORS, CodeResult, TrustList, Verifier
from kiosk.healthpass.cose import P256_ORDER
from kiosk.healthpass.dcc_issuer import DccTestIssuer
from kiosk.healthpass.issuer import TestIssuer, encode_text
from kiosk.healthpass.trust import KIND_USAGES
from kiosk.healthpass.usages import Unreadable, dotted, extended_key_usages, lenient_usages

AT = 1_765_900_000
DAY = 86_400
DE = DccTestIssuer("ES256", iss="DE")
FR = DccTestIssuer("PS256", iss="FR")
THP = TestIssuer("ES256")
VERIFIER = Verifier(TrustList.from_json(THP.trust_list_json(DE, FR)))


def verify(text: str, verifier: Verifier = VERIFIER, at: float = AT) -> CodeResult:
    result = verifier.verify(text, at)
    assert result.error is None or result.error in ERRORS
    assert "unexpected" not in result.detail
    return result


def cose_of(text: str) -> bytes:
    return zlib.decompress(base45.b45decode(text.split(":", 1)[1]))


def hc1(claims: Any, issuer: DccTestIssuer = DE, **sign: Any) -> str:
    return encode_text(issuer.sign(claims, **sign), prefix="HC1:")


def vaccination(issuer: DccTestIssuer = DE, **changes: Any) -> dict[Any, Any]:
    """A vaccination's claims; `iss=` sets claim 1."""
    claims = issuer.dcc_claims("vaccination", iat=AT - DAY, exp=AT + 300 * DAY)
    if "iss" in changes:
        claims[1] = changes.pop("iss")
    return {**claims, **changes}


# ------------------------------------------------------------------------------------------- tags


@pytest.mark.parametrize("issuer", [DE, FR], ids=["ES256", "PS256"])
def test_the_cwt_tag_61_around_cose_sign1_is_read(issuer: DccTestIssuer) -> None:
    text = hc1(vaccination(issuer), issuer, cwt_tag=True)
    assert cbor2.loads(cose_of(text)).tag == 61
    assert verify(text).valid


def test_tag_61_alone_and_no_tag_at_all_are_read_for_thp1_too() -> None:
    claims = THP.claims("G", sid="s", iat=AT, exp=AT + 60)
    assert verify(encode_text(THP.sign(claims, cwt_tag=True))).valid
    assert verify(encode_text(THP.sign(claims, tagged=False))).valid


@pytest.mark.parametrize("tag", [16, 17, 96, 98, 62])
def test_a_tag_naming_another_structure_is_cose(tag: int) -> None:
    sign1 = cbor2.loads(DE.sign(vaccination())).value
    assert verify(encode_text(cbor2.dumps(cbor2.CBORTag(tag, list(sign1))), prefix="HC1:")).error == "cose"
    wrapped = cbor2.CBORTag(61, cbor2.CBORTag(tag, list(sign1)))
    assert verify(encode_text(cbor2.dumps(wrapped), prefix="HC1:")).error == "cose"


# ------------------------------------------------------------------------------------------- kid


def test_the_kid_may_stand_in_either_header_and_the_protected_one_wins() -> None:
    claims = vaccination()
    assert verify(hc1(claims, kid_in_unprotected=True)).valid
    both = hc1(claims, unprotected={4: b"\x00" * 8})  # protected kid right, unprotected wrong
    assert verify(both).valid
    wrong_protected = hc1(claims, protected={1: -7, 4: b"\x00" * 8}, unprotected={4: DE.kid})
    assert verify(wrong_protected).error == "unknown_kid"


# ------------------------------------------------------------------------------------- signatures


@pytest.mark.parametrize("high", [True, False], ids=["high-s", "low-s"])
def test_es256_signatures_verify_whichever_half_s_is_in(high: bool) -> None:
    """Real signers (and the THP1 platform) emit high-s signatures about half the time: both are valid."""
    for text in (hc1(vaccination(), high_s=high),
                 encode_text(THP.sign(THP.claims("G", sid="s", iat=AT, exp=AT + 60), high_s=high))):
        s = int.from_bytes(cbor2.loads(cose_of(text)).value[3][32:], "big")
        assert (s > P256_ORDER // 2) == high
        assert verify(text).valid


def _signer_with_strict_parse_failure(usages: list[str]) -> DccTestIssuer:
    """A document signer whose certificate loads, but whose extensions `cryptography` refuses to parse.

    Its KeyUsage BIT STRING sets a padding bit (valid BER, not DER), as some national CAs' do; the
    certificate's own signature is then wrong, which no verifier of the kiosk's checks (the trust
    list vouches for the key, not a CA).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DSC with BER"),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "AT")])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(7).not_valid_before(dt.datetime(2025, 1, 1))
               .not_valid_after(dt.datetime(2030, 1, 1))
               .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                              critical=True))
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.ObjectIdentifier(u) for u in usages]),
                                        critical=False)
    der = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    assert der.count(b"\x03\x02\x07\x80") == 1
    lax = x509.load_der_x509_certificate(der.replace(b"\x03\x02\x07\x80", b"\x03\x02\x07\x81"))
    with pytest.raises(ValueError):
        lax.extensions  # noqa: B018 - the strict parse that made verification fail with "unexpected ValueError"
    return DccTestIssuer("ES256", iss="AT", private_key=key, certificate=lax)


def test_a_signer_whose_extensions_cryptography_refuses_still_verifies() -> None:
    signer = _signer_with_strict_parse_failure([])
    verifier = Verifier(TrustList.from_json(signer.trust_list_json()))
    result = verify(signer.issue_dcc("vaccination", iat=AT - DAY, exp=AT + DAY), verifier)
    assert result.valid, result.detail


def test_the_usages_of_such_a_signer_are_still_enforced() -> None:
    signer = _signer_with_strict_parse_failure(sorted(KIND_USAGES["test"]))
    assert extended_key_usages(signer.certificate) == KIND_USAGES["test"]
    verifier = Verifier(TrustList.from_json(signer.trust_list_json()))
    assert verify(signer.issue_dcc("test", iat=AT - DAY, exp=AT + DAY), verifier).valid
    refused = verify(signer.issue_dcc("vaccination", iat=AT - DAY, exp=AT + DAY), verifier)
    assert refused.error == "signature" and "may not sign vaccination" in refused.detail


def test_the_lenient_reader_agrees_with_cryptography_on_well_formed_certificates() -> None:
    for usages in ([], sorted(KIND_USAGES["recovery"]), ["1.3.6.1.5.5.7.3.2", "2.999.1"]):
        issuer = DccTestIssuer("ES256", usages=usages)
        assert lenient_usages(issuer.certificate.tbs_certificate_bytes) == frozenset(usages)
        assert extended_key_usages(issuer.certificate) == frozenset(usages)


@pytest.mark.parametrize("junk", [b"", b"\x30", b"\x30\x80\x00\x00", b"\x30\x05\x02\x01", b"\x1f\x01\x00"])
def test_the_lenient_reader_refuses_what_it_cannot_walk(junk: bytes) -> None:
    with pytest.raises(Unreadable):
        lenient_usages(junk)
    assert dotted(b"\x55\x1d\x25") == "2.5.29.37" and dotted(b"\x88\x37\x01") == "2.999.1"


# ------------------------------------------------------------------------------------- the issuer


def test_hc1_results_name_the_trust_lists_country() -> None:
    claims = vaccination()
    del claims[1]
    assert verify(hc1(claims)).health_pass.iss == "DE"  # no claim 1: the list still says who signed
    assert verify(hc1(vaccination(iss="de"))).health_pass.iss == "DE"  # a code compared case-blind
    named = verify(hc1(vaccination(iss="Robert Koch-Institut")))  # a name, not a code: not compared
    assert named.valid and named.health_pass.iss == "DE"
    assert verify(hc1(vaccination(iss="FR"))).error == "signature"


def test_thp1_codes_are_bound_to_their_keys_issuer() -> None:
    """A key listed for one township cannot issue codes naming another (issue 12)."""
    own = THP.issue("G", sid="s", iat=AT, exp=AT + 60)
    assert verify(own).health_pass.iss == THP.iss
    other = encode_text(THP.sign({**THP.claims("G", sid="s", iat=AT, exp=AT + 60), 1: "CN-BJ"}))
    result = verify(other)
    assert (result.valid, result.error) == (False, "signature")
    assert "CN-BJ" in result.detail and THP.iss in result.detail


def test_a_signer_whose_usages_cannot_be_read_at_all_fails_the_list_at_load_naming_it() -> None:
    """Two EKU extensions, the second holding a BIT STRING: neither reading can say what the signer may sign."""
    from kiosk.healthpass import TrustListError

    signer = DccTestIssuer("ES256", iss="AT", usages=sorted(KIND_USAGES["test"]))
    key = signer.private_key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "AT")])
    der = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
           .serial_number(9).not_valid_before(dt.datetime(2025, 1, 1)).not_valid_after(dt.datetime(2030, 1, 1))
           .add_extension(x509.ExtendedKeyUsage([x509.ObjectIdentifier("1.3.6.1.4.1.1847.2021.1.1")]), critical=False)
           .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
           .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    twice = x509.load_der_x509_certificate(der.replace(b"\x06\x03\x55\x1d\x0f", b"\x06\x03\x55\x1d\x25"))
    broken = DccTestIssuer("ES256", iss="AT", private_key=key, certificate=twice)
    with pytest.raises(TrustListError, match=r"keys\[0\].*extended key usage cannot be read"):
        TrustList.from_json(broken.trust_list_json())
