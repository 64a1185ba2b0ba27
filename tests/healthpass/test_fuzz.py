"""Whatever the camera reads, `verify` answers with a result and a known error; it never raises.

The strategies aim past the outer layers: random text stops at the prefix, so most examples are
built to reach a chosen layer (valid Base45 of random bytes, a valid zlib stream of random CBOR,
a signed payload of random claims) and then mutated.
"""

from __future__ import annotations

import zlib
from typing import Any

import base45
import cbor2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.healthpass import ERRORS, CodeResult, Verifier
from kiosk.healthpass.issuer import TestIssuer, encode_text

AT = 1_765_900_000
ES = TestIssuer("ES256")
ED = TestIssuer("EdDSA")
VERIFIER = Verifier(ES.trust_list(ED))
GOOD = ES.issue("G", sid="fuzz-sid", name="王*", iat=AT, exp=AT + 600, trip_areas=["430626"], nat=AT - 9)
GOOD_COSE = zlib.decompress(base45.b45decode(GOOD[5:]))
GOOD_PASS = VERIFIER.verify(GOOD, AT).health_pass
assert GOOD_PASS is not None

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

THP_WORDS = ["G", "Y", "R", "430626", "v", "c", "sid", "n", "trip", "a", "d", "x", "nat"]
cbor_keys = st.integers(-300, 10) | st.sampled_from(THP_WORDS)
cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8)
    | st.binary(max_size=12) | st.sampled_from(THP_WORDS),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(cbor_keys, inner, max_size=5),
    max_leaves=20,
)
CBOR_HEADS = [0x00, 0x18, 0x1B, 0x5B, 0x7F, 0x9F, 0xBF, 0xC0, 0xD8, 0xF6, 0xFF]  # lengths, tags, breaks


def check(text: Any, at: float = AT) -> CodeResult:
    result = VERIFIER.verify(text, at)
    assert isinstance(result, CodeResult)
    assert "unexpected" not in result.detail, result.detail  # every refusal is a failure some layer foresaw
    if result.valid:
        assert result.error is None and result.health_pass is not None
    else:
        assert result.error in ERRORS and result.health_pass is None and result.colour is None
    return result


def same_or_refused(text: str) -> None:
    """A mutation of a signed code is refused, or changed nothing the signature covers."""
    result = check(text)
    assert not result.valid or result.health_pass == GOOD_PASS


@FUZZ
@given(st.text(max_size=300))
def test_any_text(text: str) -> None:
    check(text)
    check("THP1:" + text)


@FUZZ
@given(st.binary(max_size=300))
def test_any_base45_body(data: bytes) -> None:
    assert not check("THP1:" + base45.b45encode(data).decode()).valid


@FUZZ
@given(st.binary(max_size=300))
def test_any_zlib_stream(data: bytes) -> None:
    assert not check(encode_text(data)).valid


@FUZZ
@given(cbor_values)
def test_any_cbor_item(value: Any) -> None:
    assert check(encode_text(cbor2.dumps(value))).error in {"cbor", "cose", "unknown_kid", "signature"}


@FUZZ
@given(st.dictionaries(st.integers(-10, 10), cbor_values, max_size=4), cbor_values)
def test_any_headers(protected: dict[int, Any], unprotected: Any) -> None:
    payload = cbor2.dumps(ES.claims("G", sid="s", iat=AT, exp=AT))
    sign1 = [cbor2.dumps(protected), unprotected, payload, b"\0" * 64]
    assert not check(encode_text(cbor2.dumps(sign1))).valid


@FUZZ
@given(cbor_values, st.sampled_from([ES, ED]))
def test_any_signed_payload(payload: Any, issuer: TestIssuer) -> None:
    """Random claims behind a good signature reach the claims layer and stop there or later."""
    assert check(encode_text(issuer.sign(payload))).error in {"claims", "expired", "stale", "future", None}


@FUZZ
@given(st.dictionaries(st.sampled_from(["v", "c", "sid", "n", "trip", "nat", "zz"]), cbor_values))
def test_any_thp_map(changes: dict[str, Any]) -> None:
    claims = ES.claims("G", sid="s", iat=AT, exp=AT + 9)
    claims[-261].update(changes)
    result = check(encode_text(ES.sign(claims)))
    assert result.error in {"claims", None}


@FUZZ
@given(st.data())
def test_mutated_text(data: st.DataObject) -> None:
    text = list(GOOD)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text) - 1))
        text[at] = data.draw(st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:a\n"))
    same_or_refused("".join(text))


@FUZZ
@given(st.data())
def test_mutated_cose_bytes(data: st.DataObject) -> None:
    """Flip, insert and delete bytes of the inflated COSE, then compress again: every layer below."""
    cose = bytearray(GOOD_COSE)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(cose) - 1))
        action = data.draw(st.sampled_from(["flip", "insert", "delete", "set"]))
        if action == "flip":
            cose[at] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "insert":
            cose.insert(at, data.draw(st.integers(0, 255)))
        elif action == "delete":
            del cose[at]
        else:
            cose[at] = data.draw(st.sampled_from(CBOR_HEADS))
    same_or_refused(encode_text(bytes(cose)))


@FUZZ
@given(st.floats(allow_nan=True) | st.integers(-(2**80), 2**80))
def test_any_clock(at: float) -> None:
    check(GOOD, at)
