"""Whatever an HC1 (or batch) input holds, the answer is a result with a known error, never an exception.

Like `test_healthpass_fuzz.py` for THP1, most examples are built to reach a chosen layer of the
HC1 path (a valid zlib stream of random CBOR under `HC1:`, random DCC content behind a good
ES256 or PS256 signature) and then mutated; the batch loop gets random lines.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import base45
import cbor2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.checkpoint import facts_of
from kiosk.cli.code import verify_lines
from kiosk.healthpass import ERRORS, CodeResult, TrustList, Verifier
from kiosk.healthpass.dcc_issuer import DccTestIssuer
from kiosk.healthpass.issuer import TestIssuer, encode_text

AT = 1_765_900_000
DE = DccTestIssuer("ES256")
FR = DccTestIssuer("PS256", iss="FR")
THP = TestIssuer("ES256")
VERIFIER = Verifier(TrustList.from_json(THP.trust_list_json(DE, FR)))
GOOD = DE.issue_dcc("test", iat=AT - 60, exp=AT + 86_400, sample_at=AT - 60)
GOOD_COSE = zlib.decompress(base45.b45decode(GOOD[4:]))
GOOD_CERT = VERIFIER.verify(GOOD, AT).health_pass
assert GOOD_CERT is not None

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DCC_WORDS = ["ver", "nam", "fnt", "gnt", "fn", "gn", "dob", "v", "t", "r", "tg", "840539006", "co", "DE", "tt",
             "LP6464-4", "tr", "260415000", "260373001", "sc", "dn", "sd", "dt", "fr", "df", "du", "2021-06-01",
             "2025-12-16T10:00:00Z", "1.3.0"]
keys = st.integers(-300, 10) | st.sampled_from(DCC_WORDS)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12)
    | st.binary(max_size=12) | st.sampled_from(DCC_WORDS),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=25,
)


def check(text: Any, at: float = AT) -> CodeResult:
    result = VERIFIER.verify(text, at)
    assert isinstance(result, CodeResult)
    assert "unexpected" not in result.detail, result.detail  # every refusal is a failure some layer foresaw
    if result.valid:
        assert result.error is None and result.health_pass is not None
        facts_of(result)  # whatever verified, policy can read it
    else:
        assert result.error in ERRORS and result.health_pass is None
    json.dumps(result.to_json_dict())
    return result


@FUZZ
@given(st.binary(max_size=400))
def test_any_hc1_zlib_stream(data: bytes) -> None:
    assert not check(encode_text(data, prefix="HC1:")).valid


@FUZZ
@given(values)
def test_any_cbor_item_under_hc1(value: Any) -> None:
    assert check(encode_text(cbor2.dumps(value), prefix="HC1:")).error in {"cbor", "cose", "unknown_kid", "signature"}


@FUZZ
@given(values, st.sampled_from([DE, FR]))
def test_any_signed_payload(payload: Any, issuer: DccTestIssuer) -> None:
    assert check(encode_text(issuer.sign(payload), prefix="HC1:")).error in {"claims", "expired", "future", None}


@FUZZ
@given(st.sampled_from(["vaccination", "test", "recovery"]), st.sampled_from([DE, FR]),
       st.dictionaries(st.sampled_from([*DCC_WORDS, "zz"]), values, max_size=4),
       st.dictionaries(st.sampled_from([*DCC_WORDS, "zz"]), values, max_size=4))
def test_any_dcc_content(kind: str, issuer: DccTestIssuer, top: dict[str, Any], entry: dict[str, Any]) -> None:
    """Random fields over a real certificate, signed: refused as claims or time, or read."""
    claims = issuer.dcc_claims(kind, iat=AT - 60, exp=AT + 86_400, valid_from="2025-12-01", valid_until="2026-01-01")
    dcc = claims[-260][1]
    dcc.update(top)
    entries = next((dcc[k] for k in ("v", "t", "r") if isinstance(dcc.get(k), list) and dcc[k]), None)
    if entries and isinstance(entries[0], dict):
        entries[0].update(entry)
    result = check(encode_text(issuer.sign(claims), prefix="HC1:"))
    assert result.error in {"claims", "expired", "future", "signature", None}


@FUZZ
@given(st.data())
def test_mutated_hc1_cose(data: st.DataObject) -> None:
    cose = bytearray(GOOD_COSE)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(cose) - 1))
        action = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "flip":
            cose[at] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "insert":
            cose.insert(at, data.draw(st.integers(0, 255)))
        else:
            del cose[at]
    result = check(encode_text(bytes(cose), prefix="HC1:"))
    assert not result.valid or result.health_pass == GOOD_CERT


@FUZZ
@given(st.text(max_size=200), st.floats(allow_nan=True) | st.integers(-(2**80), 2**80))
def test_any_hc1_text_and_clock(text: str, at: float) -> None:
    check("HC1:" + text, at)
    check(GOOD, at)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                      max_size=4), max_leaves=10)


@FUZZ
@given(st.lists(st.text(max_size=80) | json_values.map(json.dumps)
                | st.fixed_dictionaries({"id": json_values, "text": st.sampled_from([GOOD, "HC1:x"]) | json_values},
                                        optional={"at": json_values}).map(json.dumps), max_size=6))
def test_the_batch_never_stops_on_a_line(lines: list[str]) -> None:
    raw = [line.replace("\n", " ") for line in lines]
    results = list(verify_lines(VERIFIER, raw, at=AT))
    assert len(results) == sum(1 for line in raw if line.strip())
    for result in results:
        assert result["error"] in (*ERRORS, "bad_line", None) and "line" in result
        json.dumps(result)


TIMESTAMPS = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,12})?)?(Z|[+-]\d{2}(:?\d{2})?)?(\[[A-Za-z/]{1,20}\])?"


@FUZZ
@given(values | st.datetimes(timezones=st.none() | st.timezones()) | st.dates()
       | st.from_regex(TIMESTAMPS, fullmatch=True))
def test_the_field_readers_take_anything_cbor_can_hold(value: Any) -> None:
    """Each reader returns a value or refuses with `claims`; none raises anything else, whatever it is handed."""
    from kiosk.healthpass import dcc_fields as fields
    from kiosk.healthpass.errors import CodeRejected

    for read in (fields.text_or_none, fields.count_or_none, fields.date_or_none, fields.instant_or_none,
                 fields.initials):
        read(value)
    for strict in (fields.read_test_result, lambda v: fields.numeric_date(v, "iat"),
                   lambda v: fields.required_date(v, "du")):
        try:
            strict(value)
        except CodeRejected as exc:
            assert exc.error == "claims"
