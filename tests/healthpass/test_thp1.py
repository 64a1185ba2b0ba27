"""THP1 verification layer by layer, built wrong on purpose with our own issuers.

Each test names the one fault it injects; the expected error is the first layer that can see
it.  The precedence tests inject two faults at once and check which one wins.
"""

from __future__ import annotations

import json
import math
import zlib
from typing import Any

import base45
import cbor2
import pytest

from kiosk.healthpass import ERRORS, CodeResult, HealthPass, Verifier
from kiosk.healthpass.issuer import TestIssuer, encode_text

AT = 1_765_900_000
SID = "sid-SECRET-7f3a9c"
ES = TestIssuer("ES256")
ED = TestIssuer("EdDSA", common_name="THP test issuer ed25519")
ES2 = TestIssuer("ES256", iss="CN-GD")
STRANGER = TestIssuer("ES256")  # not in the trust list
VERIFIER = Verifier(ES.trust_list(ED, ES2))


def claims(issuer: TestIssuer = ES, colour: str = "G", **overrides: Any) -> dict[Any, Any]:
    base: dict[str, Any] = {"sid": SID, "name": "张*卿", "iat": AT - 10, "exp": AT + 3600,
                            "trip_areas": ("430626",), "nat": AT - 86_400}
    return issuer.claims(colour, **{**base, **overrides})


def thp(**changes: Any) -> dict[Any, Any]:
    """Claims whose thp map has `changes` applied (a value of ... deletes the key)."""
    c = claims()
    for key, value in changes.items():
        if value is ...:
            del c[-261][key]
        else:
            c[-261][key] = value
    return c


def code(payload: Any = None, issuer: TestIssuer = ES, **sign: Any) -> str:
    return encode_text(issuer.sign(claims(issuer) if payload is None else payload, **sign))


def verify(text: Any, at: float = AT, verifier: Verifier = VERIFIER) -> CodeResult:
    result = verifier.verify(text, at)
    assert result.error is None or result.error in ERRORS
    return result


def error(text: Any, at: float = AT) -> str | None:
    return verify(text, at).error


def raw(data: bytes) -> str:
    return "THP1:" + base45.b45encode(data).decode()


def deflated(data: bytes) -> str:
    return raw(zlib.compress(data))


def raw_deflate(data: bytes) -> bytes:
    """Deflate without the zlib header and checksum, as some encoders emit."""
    deflater = zlib.compressobj(wbits=-15)
    return deflater.compress(data) + deflater.flush()


# ------------------------------------------------------------------------------------------- valid


@pytest.mark.parametrize("issuer", [ES, ED, ES2], ids=["ES256", "EdDSA", "second-ES256"])
@pytest.mark.parametrize("colour", ["G", "Y", "R"])
def test_valid_codes_of_every_colour_and_alg(issuer: TestIssuer, colour: str) -> None:
    text = issuer.issue(colour, sid=SID, name="张*卿", iat=AT, exp=AT + 60, trip_areas=["430626", "110101"],
                        star=True, nat=AT - 3600)
    result = verify(text)
    assert result.valid and result.error is None and result.colour == colour and result.format == "THP1"
    assert result.health_pass == HealthPass(
        iss=issuer.iss, iat=AT, exp=AT + 60, kid=issuer.kid, colour=colour, sid=SID, n="张*卿",
        trip_days=14, trip_areas=("430626", "110101"), trip_star=True, nat=AT - 3600)


def test_kid_in_unprotected_header() -> None:
    assert verify(code(kid_in_unprotected=True)).valid


def test_untagged_sign1_is_read() -> None:
    assert verify(code(tagged=False)).valid


def test_protected_kid_wins_over_unprotected() -> None:
    assert verify(code(unprotected={4: ES2.kid})).valid


def test_optional_claims_may_be_absent_or_null() -> None:
    hp = verify(code(thp(n=..., nat=..., trip=...))).health_pass
    assert hp is not None
    assert (hp.n, hp.nat, hp.trip_days, hp.trip_areas, hp.trip_star) == (None, None, None, (), False)
    hp = verify(code(thp(n=None, nat=None))).health_pass
    assert hp is not None and hp.n is None and hp.nat is None


def test_unknown_keys_are_ignored_everywhere() -> None:
    c = thp(zz=[1, {"deep": b"x"}], trip={"d": 7, "a": [], "x": False, "later": 1})
    c[2] = "subject"
    c[-262] = {"other": "format"}
    text = code(c, protected={1: -7, 4: ES.kid, 99: "unknown"}, unprotected={33: b"x5chain?"})
    hp = verify(text).health_pass
    assert hp is not None and hp.trip_days == 7 and hp.trip_areas == ()


def test_exactly_4_kib_inflated_is_accepted_one_more_is_too_large() -> None:
    def padded(n: int) -> bytes:
        return ES.sign(claims(), unprotected={-70_000: b"\0" * n})

    base = len(padded(1000)) - 1000
    exact = padded(4096 - base)
    assert len(exact) == 4096
    assert verify(encode_text(exact)).valid
    assert error(encode_text(padded(4097 - base))) == "too_large"


# ---------------------------------------------------------------------------------- privacy, results


def test_sid_is_kept_but_never_printed() -> None:
    result = verify(code())
    assert result.health_pass is not None and result.health_pass.sid == SID
    for shown in (repr(result), str(result), repr(result.health_pass), f"{result.health_pass}",
                  json.dumps(result.to_json_dict(), ensure_ascii=False)):
        assert SID not in shown


def test_the_name_is_never_in_a_repr_nor_in_a_logged_outcome() -> None:
    from kiosk.checkpoint import CodeFacts, Decision, ScannedCode, Verdict, VisitorOutcome, verified_code

    result = verify(ES.issue("G", sid=SID, name="张三丰", iat=AT, exp=AT + 60))
    assert result.health_pass is not None and result.health_pass.name == "张三丰"  # kept for the event, masked there
    scanned = ScannedCode(key="k", facts=CodeFacts(valid=True, colour="G"), code=verified_code(result))
    outcome = VisitorOutcome(decision=Decision(Verdict.PASS, ()), temperature_c=36.5, first_reading_c=36.5,
                             code=scanned, started_at=0.0, decided_at=1.0)
    for shown in (repr(result), str(result.health_pass), repr(scanned), repr(outcome), f"{outcome}"):
        assert "张" not in shown and "丰" not in shown and SID not in shown
    assert result.to_json_dict()["name"] == "张*丰"


def test_json_dict_of_a_valid_code() -> None:
    text = ES.issue("Y", sid=SID, name="李*", iat=AT, exp=AT + 60, trip_areas=["430626"], nat=None)
    assert verify(text).to_json_dict() == {
        "valid": True, "error": None, "detail": "", "format": "THP1", "colour": "Y", "iss": "CN-HN",
        "iat": AT, "exp": AT + 60, "trip": {"days": 14, "areas": ["430626"], "star": False}, "nat": None,
        "name": "李*"}


def test_json_dict_of_an_invalid_code_has_no_claims() -> None:
    d = verify(code(thp(c="B"))).to_json_dict()
    assert d["valid"] is False and d["error"] == "claims" and d["colour"] is None and d["trip"] is None
    assert verify("https://x").to_json_dict()["format"] is None


def test_result_invariants() -> None:
    hp = verify(code()).health_pass
    assert hp is not None
    with pytest.raises(ValueError):
        CodeResult(True, "claims", "THP1", hp)
    with pytest.raises(ValueError):
        CodeResult(False, None)
    with pytest.raises(ValueError):
        CodeResult(False, "nonsense")


@pytest.mark.parametrize("kw", [{"max_code_age_s": -1}, {"clock_skew_s": math.nan}])
def test_verifier_refuses_meaningless_windows(kw: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Verifier(ES.trust_list(), **kw)


# ------------------------------------------------------------------------------ one fault per layer

GOOD_COSE = ES.sign(claims())

LAYER_FAULTS: dict[str, tuple[Any, str]] = {
    # prefix
    "empty": ("", "prefix"),
    "lowercase-prefix": ("thp1:" + code()[5:], "prefix"),
    "thp1-body-under-hc1-prefix": ("HC1:" + code()[5:], "unknown_kid"),  # a THP1 key cannot vouch for HC1
    "leading-space": (" " + code(), "prefix"),
    "bytes-not-text": (code().encode(), "prefix"),
    "none": (None, "prefix"),
    # base45
    "lowercase-body": ("THP1:" + code()[5:].lower(), "base45"),
    "length-mod-3-is-1": ("THP1:0000", "base45"),
    "triple-over-65535": ("THP1:GGW", "base45"),
    "pair-over-255": ("THP1:::", "base45"),
    "non-ascii": ("THP1:码码", "base45"),
    # too long for any QR symbol
    "longer-than-a-qr": ("THP1:" + "0" * 6000, "too_large"),
    # zlib
    "no-body": ("THP1:", "zlib"),
    "not-compressed": (raw(GOOD_COSE), "zlib"),
    "raw-deflate": (raw(raw_deflate(GOOD_COSE)), "zlib"),
    "gzip": (raw(zlib.compress(GOOD_COSE, wbits=31)), "zlib"),
    "truncated": (raw(zlib.compress(GOOD_COSE)[:-6]), "zlib"),
    "bad-checksum": (raw(zlib.compress(GOOD_COSE)[:-1] + b"\0"), "zlib"),
    "bytes-after-stream": (raw(zlib.compress(GOOD_COSE) + b"\0"), "zlib"),
    # too_large
    "zip-bomb": (raw(zlib.compress(b"\0" * 1_000_000, 9)), "too_large"),
    # cbor
    "garbage": (deflated(b"\xff\xfegarbage"), "cbor"),
    "empty-inflated": (deflated(b""), "cbor"),
    "trailing-item": (deflated(GOOD_COSE + b"\x00"), "cbor"),
    "deep-nesting": (deflated(b"\x81" * 3000 + b"\x00"), "cbor"),
    "duplicate-keys": (deflated(b"\xa2\x01\x01\x01\x02"), "cbor"),
    "huge-declared-length": (deflated(b"\x5b\x7f\xff\xff\xff\xff\xff\xff\xff"), "cbor"),
    # cose
    "a-map": (deflated(cbor2.dumps({1: 2})), "cose"),
    "other-tag": (deflated(cbor2.dumps(cbor2.CBORTag(98, cbor2.loads(GOOD_COSE).value))), "cose"),
    "array-of-3": (deflated(cbor2.dumps(list(cbor2.loads(GOOD_COSE).value)[:3])), "cose"),
    "protected-as-map": (deflated(cbor2.dumps([{1: -7}, {}, b"x", b"s"])), "cose"),
    "protected-not-cbor": (code(protected=b"\xff"), "cose"),
    "protected-not-a-map": (code(protected=cbor2.dumps([1, -7])), "cose"),
    "protected-trailing": (code(protected=cbor2.dumps({1: -7, 4: ES.kid}) + b"\x00"), "cose"),
    "unprotected-not-a-map": (deflated(cbor2.dumps([cbor2.dumps({1: -7}), [], b"x", b"s"])), "cose"),
    "detached-payload": (deflated(cbor2.dumps([cbor2.dumps({1: -7, 4: ES.kid}), {}, None, b"s"])), "cose"),
    "signature-not-bytes": (deflated(cbor2.dumps([cbor2.dumps({1: -7, 4: ES.kid}), {}, b"x", "s"])), "cose"),
    "no-alg": (code(protected={4: ES.kid}), "cose"),
    "empty-protected": (code(protected=b"", kid_in_unprotected=True), "cose"),
    "alg-only-unprotected": (code(protected={4: ES.kid}, unprotected={1: -7}), "cose"),
    "alg-PS256": (code(protected={1: -37, 4: ES.kid}), "cose"),
    "alg-ES384": (code(protected={1: -35, 4: ES.kid}), "cose"),
    "alg-as-text": (code(protected={1: "ES256", 4: ES.kid}), "cose"),
    "alg-as-float": (code(protected={1: -7.0, 4: ES.kid}), "cose"),
    "no-kid": (code(protected={1: -7}), "cose"),
    "kid-as-text": (code(protected={1: -7, 4: ES.kid.hex()}), "cose"),
    "crit-header": (code(protected={1: -7, 2: [99], 4: ES.kid, 99: 1}), "cose"),
    # unknown_kid
    "stranger": (code(issuer=STRANGER), "unknown_kid"),
    "short-kid": (code(protected={1: -7, 4: ES.kid[:4]}), "unknown_kid"),
    # signature
    "forged-with-trusted-kid": (code(issuer=STRANGER, protected={1: -7, 4: ES.kid}), "signature"),
    "der-signature": (code(der_signature=True), "signature"),
    "header-says-EdDSA-key-is-ES256": (code(protected={1: -8, 4: ES.kid}), "signature"),
    "header-says-ES256-key-is-EdDSA": (code(issuer=ED, protected={1: -7, 4: ED.kid}), "signature"),
    "unprotected-kid-swapped": (code(kid_in_unprotected=True, unprotected={4: ES2.kid}), "signature"),
    # claims: the structure
    "payload-not-cbor": (code(b"\xff\x00"), "claims"),
    "payload-trailing": (code(cbor2.dumps(claims()) + b"\x00"), "claims"),
    "payload-an-array": (code([1, 2, 3]), "claims"),
    "payload-empty": (code(b""), "claims"),
}


@pytest.mark.parametrize(("text", "expected"), LAYER_FAULTS.values(), ids=LAYER_FAULTS.keys())
def test_each_layer_has_its_own_error(text: Any, expected: str) -> None:
    result = verify(text)
    assert (result.valid, result.error, result.colour, result.health_pass) == (False, expected, None, None)
    assert result.detail and SID not in result.detail


def test_tampered_payload() -> None:
    protected, unprotected, _, signature = cbor2.loads(GOOD_COSE).value
    forged = cbor2.dumps(claims(colour="G", sid="someone-else"))
    assert error(deflated(cbor2.dumps([protected, dict(unprotected), forged, signature]))) == "signature"


def test_tampered_protected_header() -> None:
    _, unprotected, payload, signature = cbor2.loads(GOOD_COSE).value
    protected = cbor2.dumps({4: ES.kid, 1: -7})  # same map, other key order: other bytes
    assert error(deflated(cbor2.dumps([protected, dict(unprotected), payload, signature]))) == "signature"


@pytest.mark.parametrize("signature", [b"", b"\0" * 64, b"\xff" * 64, b"\0" * 63, b"\0" * 65])
def test_signatures_that_cannot_verify(signature: bytes) -> None:
    protected, unprotected, payload, _ = cbor2.loads(GOOD_COSE).value
    assert error(deflated(cbor2.dumps([protected, dict(unprotected), payload, signature]))) == "signature"


CLAIM_FAULTS: dict[str, dict[Any, Any]] = {
    "no-iss": {1: ...}, "no-iat": {6: ...}, "no-exp": {4: ...}, "no-thp": {-261: ...},
    "iss-int": {1: 7}, "iss-empty": {1: ""},
    "iat-text": {6: str(AT)}, "iat-bool": {6: True}, "iat-negative": {6: -1}, "iat-float": {6: float(AT)},
    "iat-bignum": {6: 2**64}, "exp-datetime-tag": {4: cbor2.CBORTag(1, AT + 60)},
    "thp-array": {-261: [1]}, "thp-int-keys": {-261: {1: 1, 2: "G"}},
}
THP_FAULTS: dict[str, dict[str, Any]] = {
    "no-v": {"v": ...}, "v-2": {"v": 2}, "v-text": {"v": "1"}, "v-true": {"v": True},
    "no-c": {"c": ...}, "c-lowercase": {"c": "g"}, "c-int": {"c": 1}, "c-GREEN": {"c": "GREEN"},
    "no-sid": {"sid": ...}, "sid-empty": {"sid": ""}, "sid-int": {"sid": 42}, "sid-null": {"sid": None},
    "n-int": {"n": 5},
    "trip-array": {"trip": [14, ["430626"], False]}, "trip-no-x": {"trip": {"d": 14, "a": []}},
    "trip-no-a": {"trip": {"d": 14, "x": False}}, "trip-no-d": {"trip": {"a": [], "x": False}},
    "trip-d-negative": {"trip": {"d": -1, "a": [], "x": False}},
    "trip-a-text": {"trip": {"d": 14, "a": "430626", "x": False}},
    "trip-a-int": {"trip": {"d": 14, "a": [430626], "x": False}},
    "trip-a-five-digits": {"trip": {"d": 14, "a": ["43062"], "x": False}},
    "trip-a-fullwidth": {"trip": {"d": 14, "a": ["４３０６２６"], "x": False}},
    "trip-x-int": {"trip": {"d": 14, "a": [], "x": 1}},
    "trip-x-null": {"trip": {"d": 14, "a": [], "x": None}},
    "nat-text": {"nat": "yesterday"}, "nat-negative": {"nat": -5}, "nat-float": {"nat": 1.5},
}


@pytest.mark.parametrize("fault", CLAIM_FAULTS.values(), ids=CLAIM_FAULTS.keys())
def test_claim_faults(fault: dict[Any, Any]) -> None:
    c = claims()
    for key, value in fault.items():
        if value is ...:
            del c[key]
        else:
            c[key] = value
    assert error(code(c)) == "claims"


@pytest.mark.parametrize("fault", THP_FAULTS.values(), ids=THP_FAULTS.keys())
def test_thp_faults(fault: dict[str, Any]) -> None:
    assert error(code(thp(**fault))) == "claims"


# --------------------------------------------------------------------------------------- freshness


def timed(iat: int, exp: int) -> str:
    return code(claims(iat=iat, exp=exp))


@pytest.mark.parametrize(("iat", "exp", "expected"), [
    (AT, AT, None),  # exp is the last valid second
    (AT - 1, AT - 1, "expired"),
    (AT - 300, AT + 60, None),  # exactly max_code_age_s old
    (AT - 301, AT + 60, "stale"),
    (AT + 60, AT + 600, None),  # exactly clock_skew_s ahead
    (AT + 61, AT + 600, "future"),
])
def test_freshness_boundaries(iat: int, exp: int, expected: str | None) -> None:
    assert error(timed(iat, exp)) == expected


def test_freshness_windows_are_configuration() -> None:
    strict = Verifier(ES.trust_list(), max_code_age_s=30, clock_skew_s=0)
    assert strict.verify(timed(AT - 31, AT + 60), AT).error == "stale"
    assert strict.verify(timed(AT + 1, AT + 60), AT).error == "future"
    assert strict.verify(timed(AT - 30, AT + 60), AT).valid


@pytest.mark.parametrize("at", [math.nan, math.inf, -math.inf, "now", None])
def test_a_clock_without_a_usable_time_admits_nobody(at: Any) -> None:
    assert error(code(), at=at) == "stale"


# -------------------------------------------------------------------------------------- precedence

PRECEDENCE: dict[str, tuple[str, str]] = {
    "expired-and-stale": (timed(AT - 7200, AT - 3600), "expired"),
    "expired-and-future": (timed(AT + 3600, AT - 1), "expired"),
    "stale-with-exp-ok": (timed(AT - 7200, AT + 3600), "stale"),
    "bad-claims-and-expired": (code(claims(colour="B", iat=AT - 7200, exp=AT - 3600)), "claims"),
    "bad-signature-and-bad-claims": (code(thp(c="B"), der_signature=True), "signature"),
    "bad-signature-and-expired": (code(claims(exp=AT - 1), der_signature=True), "signature"),
    "unknown-kid-and-der": (code(issuer=STRANGER, der_signature=True), "unknown_kid"),
    "unknown-kid-and-bad-claims": (code(thp(sid=...), issuer=STRANGER), "unknown_kid"),
    "bad-alg-and-unknown-kid": (code(issuer=STRANGER, protected={1: -37, 4: STRANGER.kid}), "cose"),
    "cose-shape-and-bad-claims": (deflated(cbor2.dumps([b"", {}, cbor2.dumps({}), b""])), "cose"),
    "too-large-and-not-cbor": (raw(zlib.compress(b"\xff" * 5000)), "too_large"),
    "prefix-and-bad-base45": ("HC2:::", "prefix"),
}


@pytest.mark.parametrize(("text", "expected"), PRECEDENCE.values(), ids=PRECEDENCE.keys())
def test_first_refusing_layer_names_the_error(text: str, expected: str) -> None:
    assert error(text) == expected
