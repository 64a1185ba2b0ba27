"""EU Digital COVID Certificates (HC1) through the shared stack, with document signers of our own.

Every certificate here is signed at test time by a `DccTestIssuer` (ES256 or PS256, certificates
generated on the spot); each test names the one thing it gets wrong.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kiosk.checkpoint import decide, facts_of
from kiosk.config import Mode, PolicyConfig
from kiosk.healthpass import ERRORS, CodeResult, TrustList, TrustListError, Verifier
from kiosk.healthpass.dcc import KIND_USAGES
from kiosk.healthpass.dcc_issuer import DccTestIssuer
from kiosk.healthpass.issuer import TestIssuer, encode_text
from kiosk.healthpass.model import CovidCertificate

AT = 1_765_900_000
DAY = 86_400
DE = DccTestIssuer("ES256", iss="DE")
FR = DccTestIssuer("PS256", iss="FR")
THP = TestIssuer("ES256")
THP_ED = TestIssuer("EdDSA")
STRANGER = DccTestIssuer("ES256", iss="DE")
TRUST_JSON = THP.trust_list_json(THP_ED, DE, FR)
VERIFIER = Verifier(TrustList.from_json(TRUST_JSON))


def issue(issuer: DccTestIssuer = DE, kind: str = "vaccination", **claims: Any) -> str:
    base = {"iat": AT - DAY, "exp": AT + 180 * DAY, "valid_from": "2025-12-01", "valid_until": "2026-05-31"}
    return issuer.issue_dcc(kind, **{**base, **claims})


def signed(claims: Any, issuer: DccTestIssuer = DE, **sign: Any) -> str:
    return encode_text(issuer.sign(claims, **sign), prefix="HC1:")


def spoiled(kind: str = "vaccination", issuer: DccTestIssuer = DE, **claims: Any) -> tuple[dict[Any, Any], dict]:
    """(claims, the DCC inside them) to change before signing."""
    c = issuer.dcc_claims(kind, iat=AT - DAY, exp=AT + 180 * DAY, **claims)
    return c, c[-260][1]


def verify(text: Any, at: float = AT, verifier: Verifier = VERIFIER) -> CodeResult:
    result = verifier.verify(text, at)
    assert result.error is None or result.error in ERRORS
    assert result.valid == (result.health_pass is not None)
    return result


def error(text: Any, at: float = AT) -> str | None:
    return verify(text, at).error


# -------------------------------------------------------------------------------------- valid


@pytest.mark.parametrize("issuer", [DE, FR], ids=["ES256", "PS256"])
@pytest.mark.parametrize("kind", ["vaccination", "test", "recovery"])
def test_each_kind_verifies_with_each_alg(issuer: DccTestIssuer, kind: str) -> None:
    result = verify(issue(issuer, kind))
    assert (result.valid, result.format, result.colour) == (True, "HC1", None), result.detail
    cert = result.health_pass
    assert isinstance(cert, CovidCertificate)
    assert (cert.kind, cert.iss, cert.country, cert.kid) == (kind, issuer.iss, issuer.iss, issuer.kid)
    assert cert.name == "M* E*"  # initials only
    printed = result.to_json_dict()
    assert printed["format"] == "HC1" and printed["certificate"]["type"] == kind and printed["trip"] is None
    text = json.dumps(printed)
    assert "Musterfrau" not in text and "1964" not in text and "UVCI" not in text  # no name, birth date, id
    assert printed["name"] == "M* E*"  # initials are a mask already: printed as they are
    shown = repr(result)  # in a log line or a traceback: no name, no dates or result of the holder's health
    assert "M*" not in shown and all(f"{f}=" not in shown for f in (
        "n", "test_result", "sample_at", "vaccinated_on", "dose", "doses", "valid_from", "valid_until"))


def test_kid_in_the_unprotected_header_is_read() -> None:
    assert verify(DE.issue_dcc("vaccination", iat=AT, exp=AT + DAY, kid_in_unprotected=True)).valid


def test_a_test_certificate_carries_its_sample_time_as_nat() -> None:
    sample = AT - 5 * 3600
    cert = verify(issue(kind="test", sample_at=sample)).health_pass
    assert isinstance(cert, CovidCertificate)
    assert (cert.sample_at, cert.nat, cert.detected) == (sample, sample, False)
    rapid = verify(issue(kind="test", sample_at=sample, test_type="LP217198-3")).health_pass
    assert rapid is not None and rapid.nat is None  # a rapid antigen test is not a nucleic-acid test
    positive = verify(issue(kind="test", test_result="260373001")).health_pass
    assert positive is not None and positive.nat is None and positive.detected


def test_sample_times_in_other_zones_are_read_as_instants() -> None:
    claims, dcc = spoiled("test")
    dcc["t"][0]["sc"] = "2025-12-16T18:00:00+08:00"
    cert = verify(signed(claims)).health_pass
    assert cert is not None and cert.sample_at == int(dt.datetime(2025, 12, 16, 10, tzinfo=dt.UTC).timestamp())


def test_the_trust_list_file_holds_both_formats_side_by_side(tmp_path: Path) -> None:
    path = tmp_path / "trust.json"
    path.write_text(json.dumps(TRUST_JSON))
    trust = TrustList.from_file(path)
    assert [(k.alg, k.format) for k in trust] == [("ES256", "THP1"), ("EdDSA", "THP1"), ("ES256", "HC1"),
                                                  ("PS256", "HC1")]
    verifier = Verifier(trust)
    assert verifier.verify(issue(FR), AT).valid
    assert verifier.verify(THP.issue("G", sid="s", iat=AT, exp=AT + 60), AT).valid
    assert verifier.verify(THP_ED.issue("G", sid="s", iat=AT, exp=AT + 60), AT).valid


# -------------------------------------------------------------------------------------- policy


def policy(**overrides: Any) -> PolicyConfig:
    return PolicyConfig(**{"mode": Mode.RISK_AREAS, "risk_areas": ("430626",), **overrides})


def test_a_valid_certificate_counts_as_a_green_code_without_trips() -> None:
    facts = facts_of(verify(issue(kind="vaccination")))
    assert (facts.valid, facts.colour, facts.trip_areas, facts.trip_star, facts.nat_at) == (True, "G", (), False, None)
    assert decide(36.5, facts, policy(), AT).reasons == ()


@pytest.mark.parametrize(("hours_ago", "test_type", "reasons"), [
    (20, "LP6464-4", ()),  # a negative PCR within 24 h satisfies the rule
    (30, "LP6464-4", ("nat_stale",)),  # sampled too long ago
    (2, "LP217198-3", ("nat_missing",)),  # a rapid antigen test is not a nucleic-acid test
])
def test_a_negative_test_satisfies_the_nucleic_acid_rule_within_the_window(
        hours_ago: int, test_type: str, reasons: tuple[str, ...]) -> None:
    result = verify(issue(kind="test", sample_at=AT - hours_ago * 3600, test_type=test_type))
    assert decide(36.5, facts_of(result), policy(nat_max_age_h=24), AT).reasons == reasons


def test_vaccination_and_recovery_do_not_stand_in_for_a_nucleic_acid_test() -> None:
    for kind in ("vaccination", "recovery"):
        assert decide(36.5, facts_of(verify(issue(kind=kind))), policy(nat_max_age_h=48), AT).reasons == (
            "nat_missing",)


def test_a_positive_test_is_a_red_code() -> None:
    """A certificate that says the virus was detected proves an infection: code_red, an alert."""
    decision = decide(36.5, facts_of(verify(issue(kind="test", test_result="260373001"))), policy(), AT)
    assert decision.reasons == ("code_red",) and decision.is_alert


def test_an_invalid_certificate_is_code_invalid() -> None:
    assert decide(36.5, facts_of(verify(issue(), at=AT + 365 * DAY)), policy(), AT).reasons == ("code_invalid",)


# -------------------------------------------------------------------------------------- time


@pytest.mark.parametrize(("text", "at", "expected"), [
    (issue(exp=AT - 1), AT, "expired"),
    (issue(iat=AT + 2 * DAY), AT, "future"),
    (issue(iat=AT + 30), AT, None),  # within the clock skew
    (issue(iat=AT + 25 * 3600), AT, None),  # an issuer's clock (or zone) may be a day ahead: not refused
    (issue(kind="recovery", valid_until="2025-12-15"), AT, "expired"),  # AT is 2025-12-16
    (issue(kind="recovery", valid_until="2025-12-16"), AT, None),  # du is valid to the end of its day
    (issue(kind="recovery", valid_from="2025-12-20"), AT, "future"),
    (issue(), float("nan"), "stale"),
], ids=["exp-passed", "iat-future", "iat-skew", "iat-issuer-clock", "du-passed", "du-today", "df-future",
        "no-clock"])
def test_validity_in_time(text: str, at: float, expected: str | None) -> None:
    assert error(text, at) == expected


def test_a_certificate_does_not_go_stale_like_a_thp1_code() -> None:
    assert verify(issue(iat=AT - 90 * DAY, exp=AT + DAY)).valid


# -------------------------------------------------------------------------------------- signer


def test_a_key_trusted_for_one_format_cannot_vouch_for_the_other() -> None:
    thp_key_dcc = encode_text(THP.sign(DE.dcc_claims("vaccination", iat=AT, exp=AT + DAY)), prefix="HC1:")
    assert error(thp_key_dcc) == "unknown_kid"
    dcc_key_thp = encode_text(DE.sign(THP.claims("G", sid="s", iat=AT, exp=AT + 60)))
    assert error(dcc_key_thp) == "unknown_kid"


def test_an_unknown_signer_is_unknown_kid() -> None:
    assert error(issue(STRANGER)) == "unknown_kid"


def test_tampering_breaks_the_signature() -> None:
    claims, dcc = spoiled("test", test_result="260373001")
    sign1 = cbor2.loads(DE.sign(claims)).value
    dcc["t"][0]["tr"] = "260415000"  # turn a positive test negative after signing
    forged = cbor2.dumps(cbor2.CBORTag(18, [sign1[0], sign1[1], cbor2.dumps(claims), sign1[3]]))
    assert error(encode_text(forged, prefix="HC1:")) == "signature"


def test_ps256_uses_a_salt_as_long_as_the_hash() -> None:
    """RFC 8230: a PSS signature with another salt length is not PS256, and is refused."""
    claims = FR.dcc_claims("vaccination", iat=AT, exp=AT + DAY)
    protected = cbor2.dumps({1: -37, 4: FR.kid})
    from kiosk.healthpass.cose import sig_structure

    message = sig_structure(protected, cbor2.dumps(claims))
    assert isinstance(FR.private_key, rsa.RSAPrivateKey)
    for salt, expected in ((32, None), (padding.PSS.MAX_LENGTH, "signature"), (0, "signature")):
        signature = FR.private_key.sign(message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt),
                                        hashes.SHA256())
        sign1 = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, cbor2.dumps(claims), signature]))
        assert error(encode_text(sign1, prefix="HC1:")) == expected


@pytest.mark.parametrize(("protected", "expected"), [
    ({1: -7, 4: FR.kid}, "signature"),  # the code says ES256, the list says PS256
    ({1: -38, 4: FR.kid}, "cose"),  # PS384: not an HC1 alg here
    ({1: -257, 4: FR.kid}, "cose"),  # RS256 (PKCS#1 v1.5): not allowed
    ({4: FR.kid}, "cose"),  # no alg at all
], ids=["alg-mismatch", "ps384", "rs256", "no-alg"])
def test_the_alg_is_the_trust_lists_not_the_codes(protected: dict[int, Any], expected: str) -> None:
    claims = FR.dcc_claims("vaccination", iat=AT, exp=AT + DAY)
    assert error(signed(claims, FR, protected=protected)) == expected


def test_truncated_rsa_signature_is_refused() -> None:
    sign1 = cbor2.loads(FR.sign(FR.dcc_claims("test", iat=AT, exp=AT + DAY))).value
    short = cbor2.dumps(cbor2.CBORTag(18, [sign1[0], sign1[1], sign1[2], sign1[3][:-1]]))
    assert error(encode_text(short, prefix="HC1:")) == "signature"


def test_the_signer_must_have_been_valid_when_it_signed() -> None:
    future_signer = DccTestIssuer("ES256", valid_from=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    verifier = Verifier(TrustList.from_json(future_signer.trust_list_json()))
    result = verify(future_signer.issue_dcc("vaccination", iat=AT, exp=AT + DAY), verifier=verifier)
    assert result.error == "signature" and "validity" in result.detail


def test_extended_key_usage_limits_what_a_signer_signs() -> None:
    tests_only = DccTestIssuer("PS256", usages=sorted(KIND_USAGES["test"]))
    verifier = Verifier(TrustList.from_json(tests_only.trust_list_json()))
    assert verify(tests_only.issue_dcc("test", iat=AT, exp=AT + DAY), verifier=verifier).valid
    refused = verify(tests_only.issue_dcc("vaccination", iat=AT, exp=AT + DAY), verifier=verifier)
    assert refused.error == "signature" and "may not sign vaccination" in refused.detail


def test_the_issuing_country_must_be_the_signers() -> None:
    claims, _ = spoiled()
    claims[1] = "FR"
    assert error(signed(claims)) == "signature"
    del claims[1]  # claim 1 is optional
    assert error(signed(claims)) is None


# -------------------------------------------------------------------------------------- claims


def _without(path: tuple[Any, ...]) -> dict[Any, Any]:
    claims, _ = spoiled()
    node = claims
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return claims


def _with(kind: str = "vaccination", **changes: Any) -> dict[Any, Any]:
    claims, dcc = spoiled(kind)
    for dotted, value in changes.items():
        node: Any = dcc
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value
    return claims


CLAIM_FAULTS: dict[str, dict[Any, Any]] = {
    "no-iat": _without((6,)),
    "no-exp": _without((4,)),
    "no-hcert": _without((-260,)),
    "no-dcc": _without((-260, 1)),
    "no-entry": _without((-260, 1, "v")),
    "two-kinds": _with(t=[{"tg": "840539006"}]),
    "two-entries": _with(v=[copy.deepcopy(DE.dcc_claims("vaccination", iat=AT, exp=AT)[-260][1]["v"][0])] * 2),
    "not-covid": _with(v__0__tg="840539007"),
    "no-tg": _with(v__0__tg=None),
    "schema-2": _with(ver="2.0.0"),
    "no-tr": _with("test", t__0__tr=None),
    "tr-unknown": _with("test", t__0__tr="negative"),
    "tr-both": _with("test", t__0__tr="260415000 or 260373001"),
    "du-before-df": _with("recovery", r__0__du="2021-01-01"),
    "du-garbage": _with("recovery", r__0__du="soon"),
    "df-missing": _with("recovery", r__0__df=None),
    "iat-negative": {**spoiled()[0], 6: -1},
    "iat-nan": {**spoiled()[0], 6: float("nan")},
    "exp-infinite": {**spoiled()[0], 4: float("inf")},
    "exp-text": {**spoiled()[0], 4: "1765900000"},
    "exp-bool": {**spoiled()[0], 4: True},
    "hcert-list": {**spoiled()[0], -260: [1]},
    "claims-list": [1, 2, 3],  # type: ignore[dict-item]
}


@pytest.mark.parametrize("claims", CLAIM_FAULTS.values(), ids=CLAIM_FAULTS.keys())
def test_claims_a_decision_cannot_read_are_refused(claims: Any) -> None:
    result = verify(signed(claims))
    assert (result.valid, result.error, result.format) == (False, "claims", "HC1"), result.detail


# What real issuers wrote that the official schema does not allow, in fields no decision reads: the
# certificate is authentic, so it is valid; the deviation is reported in `detail` (paths, no values).
SCHEMA_ONLY: dict[str, tuple[dict[Any, Any], str]] = {
    "no-name": (_without((-260, 1, "nam")), "(top): oneOf"),  # nam is required in each branch of oneOf
    "no-fnt-but-gnt": (_without((-260, 1, "nam", "fnt")), ""),  # the schema wants fnt or gnt, not both
    "fnt-lowercase": (_with(nam__fnt="musterfrau"), "nam/fnt: pattern"),
    "dob-1800": (_with(dob="1800-01-01"), "dob: pattern"),
    "dose-zero": (_with(v__0__dn=0), "v/0/dn: minimum"),
    "dose-text": (_with(v__0__dn="2"), "v/0/dn: type"),
    "dose-bool": (_with(v__0__sd=True), "v/0/sd: type"),
    "dt-impossible": (_with(v__0__dt="2021-13-01"), "v/0/dt: format"),
    "dt-date-time": (_with(v__0__dt="2021-06-01T10:00:00Z"), "v/0/dt: format"),
    "co-lowercase": (_with(v__0__co="de"), "v/0/co: pattern"),
    "sc-no-zone": (_with("test", t__0__sc="2025-12-16T08:00:00"), "t/0/sc: format"),
    "sc-garbage": (_with("test", t__0__sc="yesterday"), "t/0/sc: format"),
    "sc-number": (_with("test", t__0__sc=1765900000), "t/0/sc: type"),
    "no-ci": (_with(v__0__ci=None), "v/0/ci: type"),
    "ver-missing": (_without((-260, 1, "ver")), "(top): oneOf"),
}


@pytest.mark.parametrize(("claims", "deviation"), SCHEMA_ONLY.values(), ids=SCHEMA_ONLY.keys())
def test_schema_deviations_in_fields_no_decision_reads_are_reported_not_refused(claims: Any, deviation: str) -> None:
    result = verify(signed(claims))
    assert result.valid, result.detail
    cert = result.health_pass
    assert isinstance(cert, CovidCertificate)
    if deviation:
        assert deviation in cert.schema_deviations and deviation in result.detail
        assert result.detail.startswith("valid, but not to the DCC schema 1.3.3")
        assert result.to_json_dict()["detail"] == result.detail
    for value in ("musterfrau", "1800-01-01", "yesterday", "Erika"):  # values never reach the detail
        assert value not in result.detail


def test_a_schema_conforming_certificate_has_no_detail() -> None:
    result = verify(issue())
    assert result.valid and result.detail == "" and result.health_pass.schema_deviations == ()


EIGHT_UTC = AT - 28_000  # 2025-12-16T08:00:00Z (AT is 15:46:40Z)


@pytest.mark.parametrize(("changes", "field", "value"), [
    ({"t__0__sc": "2025-12-16T08:00:00"}, "sample_at", None),  # no zone: no instant, so no nucleic-acid proof
    ({"t__0__sc": "2025-12-16T08:00:00.123456789+02:00"}, "sample_at", EIGHT_UTC - 2 * 3600),
    ({"t__0__sc": "2025-12-16 08:00:00+0200"}, "sample_at", EIGHT_UTC - 2 * 3600),
    ({"t__0__sc": "2025-12-16T08:00Z"}, "sample_at", EIGHT_UTC),
    ({"t__0__tr": "260415000 (Not detected)"}, "test_result", "260415000"),
    ({"t__0__tr": " 260373001 "}, "test_result", "260373001"),
    ({"t__0__co": "Deutschland"}, "country", "Deutschland"),
], ids=["sc-naive", "sc-nanoseconds", "sc-space-basic-zone", "sc-no-seconds", "tr-with-text", "tr-spaces",
        "co-name"])
def test_fields_are_read_as_issuers_write_them(changes: dict[str, Any], field: str, value: Any) -> None:
    result = verify(signed(_with("test", **changes)))
    assert result.valid, result.detail
    assert getattr(result.health_pass, field) == value


def test_the_vaccination_date_is_read_from_a_date_time() -> None:
    cert = verify(signed(_with(v__0__dt="2021-06-01T10:00:00Z"))).health_pass
    assert cert.vaccinated_on == "2021-06-01"
    assert verify(signed(_with(v__0__dt="June"))).health_pass.vaccinated_on is None


@pytest.mark.parametrize(("iat", "exp"), [
    (AT - DAY + 0.75, AT + 180 * DAY + 0.5),  # float64 NumericDates (RFC 8392 §2)
    (float(AT - DAY), float(AT + 180 * DAY)),
], ids=["fractional", "whole"])
def test_numeric_dates_may_be_floating_point(iat: float, exp: float) -> None:
    claims, _ = spoiled()
    claims[6], claims[4] = iat, exp
    cert = verify(signed(claims)).health_pass
    assert (cert.iat, cert.exp) == (int(iat), int(exp))
    claims[4] = 1.5e9  # a float exp in the past is an expired certificate, not a malformed one
    assert error(signed(claims)) == "expired"


def test_unknown_keys_are_ignored() -> None:
    claims, dcc = spoiled()
    dcc["x-extra"] = {"anything": [1, 2]}
    dcc["v"][0]["new"] = "field"
    claims[-259] = "another claim"
    assert verify(signed(claims)).valid


# -------------------------------------------------------------------------------------- layers


def test_outer_layers_name_their_errors_for_hc1_too() -> None:
    body = DE.sign(DE.dcc_claims("vaccination", iat=AT, exp=AT + DAY))
    assert error(encode_text(body, compress=False, prefix="HC1:")) == "zlib"
    assert error("HC1:" + "a") == "base45"
    assert error("hc1:" + issue()[4:]) == "prefix"  # exact, case-sensitive prefix
    big = DE.dcc_claims("vaccination", iat=AT, exp=AT + DAY)
    big[-260][1]["pad"] = bytes(range(256)) * 40  # 10 KiB that hardly compress
    assert error(signed(big)) in ("too_large",)


def test_a_verifier_can_be_limited_to_thp1() -> None:
    thp_only = Verifier(TrustList.from_json(TRUST_JSON), formats=("THP1",))
    result = thp_only.verify(issue(), AT)
    assert (result.error, result.format) == ("prefix", None)
    with pytest.raises(ValueError, match="formats"):
        Verifier(TrustList.from_json(TRUST_JSON), formats=("HC2",))


# -------------------------------------------------------------------------------------- trust list


def _entry(issuer: TestIssuer, **changes: Any) -> dict[str, Any]:
    entry = issuer.trust_entry()
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


@pytest.mark.parametrize(("entry", "message"), [
    (_entry(FR, format="THP1"), "THP1 issuers do not sign with PS256"),
    (_entry(DE, format="HC2"), "format 'HC2' is not one of THP1, HC1"),
    (_entry(FR, format=None), None),  # a PS256 key is an HC1 signer's by default
    (_entry(DE, format=None), None),  # an ES256 key without format is a THP1 issuer's (the spec's lists)
], ids=["ps256-thp1", "unknown-format", "ps256-default", "es256-default"])
def test_format_field_of_a_trust_entry(entry: dict[str, Any], message: str | None) -> None:
    obj = {"version": 1, "issued_at": 0, "keys": [entry]}
    if message is None:
        key = next(iter(TrustList.from_json(obj)))
        assert key.format == ("HC1" if key.alg == "PS256" else "THP1")
    else:
        with pytest.raises(TrustListError, match=message):
            TrustList.from_json(obj)


def test_a_weak_rsa_key_is_refused_at_load() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    signer = DccTestIssuer("PS256", private_key=weak)
    with pytest.raises(TrustListError, match="1024-bit RSA key is too weak"):
        TrustList.from_json(signer.trust_list_json())


def test_the_hc1_issuer_issues_only_certificates() -> None:
    with pytest.raises(TypeError, match="issue_dcc"):
        DE.issue("G", sid="s", iat=AT, exp=AT)
    with pytest.raises(ValueError, match="signs ES256 or PS256"):
        DccTestIssuer("EdDSA")
    with pytest.raises(ValueError, match="kind"):
        DE.dcc_claims("booster", iat=AT, exp=AT)


# -------------------------------------------------------------------------------------- the kiosk


def test_the_kiosk_reads_eu_certificates_from_the_phone_screen(tmp_path: Path) -> None:
    """Rendered phone → camera frame → zbar → HC1 verifier → policy, on emulated hardware."""
    from kiosk.simulation import Scenario
    from tests.loop.rig import simulated_kiosk  # the whole kiosk on emulated hardware

    start = AT
    visitor = {"forehead_c": 36.5, "distance_m": 0.5}
    codes = {
        "vaccinated": (DE.issue_dcc("vaccination", iat=start - 30 * DAY, exp=start + 300 * DAY), "STOP",
                       ["nat_missing"]),
        "tested": (FR.issue_dcc("test", iat=start - 3 * 3600, exp=start + 2 * DAY, sample_at=start - 3 * 3600),
                   "PASS", []),
        "expired": (DE.issue_dcc("vaccination", iat=start - 300 * DAY, exp=start - DAY), "STOP", ["code_invalid"]),
        "positive": (DE.issue_dcc("test", iat=start - 3600, exp=start + DAY, test_result="260373001"), "STOP",
                     ["code_red", "nat_missing"]),
    }
    scenario = Scenario.model_validate({
        "name": "EU certificates", "start": float(start), "site": {"policy": {"nat_max_age_h": 48}},
        "visitors": [{"id": name, "arrive_s": 1.0 + 25 * i, **visitor, "code": {"raw": text},
                      "expect": {"decision": decision, "reasons": reasons}}
                     for i, (name, (text, decision, reasons)) in enumerate(codes.items())],
    })
    sim = simulated_kiosk(tmp_path, scenario)
    kiosk, world = sim.kiosk, sim.world
    kiosk.apply_policy(kiosk.policy.policy, Verifier(TrustList.from_json(DE.trust_list_json(FR))))
    formats: list[str | None] = []
    kiosk.on_outcome.append(lambda outcome, event: formats.append(event.code.format if event.code else None))
    sim.play(seconds=200)
    assert [(r.visitor, r.decision, list(r.reasons)) for r in world.records()] == [
        (name, decision, reasons) for name, (_, decision, reasons) in codes.items()]
    assert formats == ["HC1"] * 4
