"""`CodeIdentity`: what a code says, the same however the signed pass was re-encoded (issue 12).

The replay guard remembered the QR *text*; the same signed pass recompressed, with the COSE tag 18
added or dropped, wrapped in the CWT tag 61, with the kid moved to the other header, or with the
ES256 signature's s replaced by n−s (it still verifies) was a new text each time.  Each variant
here is verified for real and must give the identity of the original; a different pass must not.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import base45
import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.healthpass import CodeResult, TrustList, Verifier
from kiosk.healthpass.cose import P256_ORDER
from kiosk.healthpass.dcc_issuer import DccTestIssuer
from kiosk.healthpass.issuer import TestIssuer, encode_text
from kiosk.healthpass.model import CodeIdentity

AT = 1_765_900_000
DAY = 86_400
THP = TestIssuer("ES256", iss="CN-HN")
THP_ED = TestIssuer("EdDSA", iss="CN-HN")
DE = DccTestIssuer("ES256", iss="DE")
FR = DccTestIssuer("PS256", iss="FR")
VERIFIER = Verifier(TrustList.from_json(THP.trust_list_json(THP_ED, DE, FR)))


def cose_of(text: str) -> tuple[str, Any]:
    prefix, body = text.split(":", 1)
    return prefix + ":", cbor2.loads(zlib.decompress(base45.b45decode(body)))


def text_of(prefix: str, item: Any, *, level: int = 9) -> str:
    return prefix + base45.b45encode(zlib.compress(cbor2.dumps(item), level)).decode()


def sign1_of(item: Any) -> list[Any]:
    while isinstance(item, cbor2.CBORTag):
        item = item.value
    return list(item)


def recompressed(text: str) -> str:
    prefix, item = cose_of(text)
    return text_of(prefix, item, level=1)


def untagged(text: str) -> str:
    prefix, item = cose_of(text)
    return text_of(prefix, sign1_of(item))


def cwt_tagged(text: str) -> str:
    prefix, item = cose_of(text)
    return text_of(prefix, cbor2.CBORTag(61, cbor2.CBORTag(18, sign1_of(item))))


def s_flipped(text: str) -> str:
    prefix, item = cose_of(text)
    parts = sign1_of(item)
    s = int.from_bytes(parts[3][32:], "big")
    parts[3] = parts[3][:32] + (P256_ORDER - s).to_bytes(32, "big")
    return text_of(prefix, cbor2.CBORTag(18, parts))


VARIANTS: dict[str, Callable[[str], str]] = {
    "recompressed": recompressed, "tag-18-dropped": untagged, "cwt-tag-61": cwt_tagged, "s-to-n-minus-s": s_flipped,
}


def verified(text: str) -> CodeResult:
    result = VERIFIER.verify(text, AT)
    assert result.valid, result.detail
    return result


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
@pytest.mark.parametrize("original", [
    THP.issue("G", sid="sid-1", iat=AT - 10, exp=AT + 600),
    DE.issue_dcc("vaccination", iat=AT - DAY, exp=AT + 300 * DAY),
], ids=["THP1", "HC1"])
def test_every_re_encoding_of_one_signed_pass_has_its_identity(original: str, variant: Callable[[str], str]) -> None:
    again = variant(original)
    assert again != original
    assert verified(again).identity == verified(original).identity
    assert verified(again).identity.key == verified(original).identity.key


def test_the_kid_in_the_other_header_or_a_new_signature_is_the_same_pass() -> None:
    claims = THP.claims("G", sid="sid-1", iat=AT - 10, exp=AT + 600)
    first = encode_text(THP.sign(claims))
    for again in (encode_text(THP.sign(claims, kid_in_unprotected=True)), encode_text(THP.sign(claims))):
        assert again != first and verified(again).identity == verified(first).identity


def test_what_the_identity_holds() -> None:
    thp = verified(THP.issue("G", sid="sid-1", iat=AT - 10, exp=AT + 600)).identity
    assert thp == CodeIdentity("THP1", "CN-HN", "sid-1", AT - 10)
    cert = verified(DE.issue_dcc("vaccination", iat=AT - DAY, exp=AT + DAY)).identity
    assert (cert.format, cert.issuer, cert.issued_at) == ("HC1", "DE", AT - DAY)
    assert cert.subject == f"URN:UVCI:01:DE:TEST{AT - DAY}"  # the certificate identifier `ci`
    assert "sid-1" not in repr(thp) and "UVCI" not in repr(cert)  # the subject is personal: out of repr
    assert len(thp.key) == 64 and "sid-1" not in thp.key
    assert VERIFIER.verify("THP1:nonsense", AT).identity is None


def test_an_hc1_certificate_without_ci_is_named_by_its_content() -> None:
    claims = DE.dcc_claims("vaccination", iat=AT - DAY, exp=AT + DAY)
    del claims[-260][1]["v"][0]["ci"]
    first = verified(encode_text(DE.sign(claims), prefix="HC1:")).identity
    assert first.subject.startswith("sha256:")
    assert verified(encode_text(DE.sign(claims, kid_in_unprotected=True), prefix="HC1:")).identity == first
    claims[-260][1]["nam"]["gn"] = "Erik"
    assert verified(encode_text(DE.sign(claims), prefix="HC1:")).identity != first


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["sid-1", "sid-2"]), st.sampled_from([AT - 10, AT - 70]), st.sampled_from([THP, THP_ED]),
       st.sampled_from(["sid-1", "sid-2"]), st.sampled_from([AT - 10, AT - 70]), st.sampled_from([THP, THP_ED]))
def test_identities_are_equal_exactly_when_issuer_subject_and_time_are(
        sid_a: str, iat_a: int, issuer_a: TestIssuer, sid_b: str, iat_b: int, issuer_b: TestIssuer) -> None:
    """Two keys of one issuer (CN-HN) signing the same claims make the same pass; anything else differs."""
    a = verified(issuer_a.issue("G", sid=sid_a, iat=iat_a, exp=AT + 600)).identity
    b = verified(issuer_b.issue("Y", sid=sid_b, iat=iat_b, exp=AT + 900)).identity
    assert (a == b) == ((sid_a, iat_a) == (sid_b, iat_b))
    assert (a.key == b.key) == (a == b)
