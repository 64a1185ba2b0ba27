"""The township's rules, edge by edge."""

from __future__ import annotations

import itertools

import pytest

from kiosk.checkpoint import REASONS, CodeFacts, Verdict, decide
from kiosk.config import Mode, PolicyConfig

NOW = 1_764_000_000.0
GREEN = CodeFacts(valid=True, colour="G")


def policy(**kw: object) -> PolicyConfig:
    return PolicyConfig(**kw)


def test_healthy_green_passes() -> None:
    d = decide(36.5, GREEN, policy(), NOW)
    assert d.verdict is Verdict.PASS and d.reasons == ()


@pytest.mark.parametrize(("temp", "fever"), [(37.2, False), (37.3, True), (37.4, True), (41.0, True)])
def test_threshold_is_inclusive(temp: float, fever: bool) -> None:
    d = decide(temp, GREEN, policy(), NOW)
    assert (d.reasons == ("fever",)) is fever


def test_threshold_is_configuration() -> None:
    assert decide(37.3, GREEN, policy(fever_c=37.5), NOW).verdict is Verdict.PASS
    assert decide(37.0, GREEN, policy(fever_c=37.0), NOW).reasons == ("fever",)


def test_no_temperature_is_a_sensor_fault_never_pass() -> None:
    d = decide(None, GREEN, policy(), NOW)
    assert d.verdict is Verdict.STOP and d.reasons == ("sensor_fault",)


@pytest.mark.parametrize(("colour", "reason"), [("Y", "code_yellow"), ("R", "code_red")])
def test_colours(colour: str, reason: str) -> None:
    assert decide(36.5, CodeFacts(True, colour), policy(), NOW).reasons == (reason,)


def test_unknown_colour_is_invalid() -> None:
    assert decide(36.5, CodeFacts(True, "B"), policy(), NOW).reasons == ("code_invalid",)


def test_invalid_and_missing_codes() -> None:
    assert decide(36.5, CodeFacts(False), policy(), NOW).reasons == ("code_invalid",)
    assert decide(36.5, None, policy(), NOW).reasons == ("no_code",)


def test_invalid_code_ignores_its_claims() -> None:
    forged = CodeFacts(False, "R", trip_star=True, trip_areas=("440104",))
    assert decide(36.5, forged, policy(risk_areas=("440104",)), NOW).reasons == ("code_invalid",)


def test_trips_in_risk_area_mode() -> None:
    p = policy(risk_areas=("440104", "440106"))
    assert decide(36.5, CodeFacts(True, "G", trip_star=True), p, NOW).reasons == ("trip_star",)
    assert decide(36.5, CodeFacts(True, "G", ("430626", "440106")), p, NOW).reasons == ("trip_risk_area",)
    assert decide(36.5, CodeFacts(True, "G", ("430626",)), p, NOW).reasons == ()


def test_no_risk_area_mode_never_verifies_trips() -> None:
    p = policy(mode=Mode.NO_RISK_AREAS, risk_areas=("440104",))
    facts = CodeFacts(True, "G", ("440104",), trip_star=True)
    assert decide(36.5, facts, p, NOW).verdict is Verdict.PASS
    # …but colour and temperature still apply
    assert decide(38.0, CodeFacts(True, "Y", trip_star=True), p, NOW).reasons == ("fever", "code_yellow")


def test_nat_window_off_by_default() -> None:
    assert decide(36.5, GREEN, policy(), NOW).verdict is Verdict.PASS


@pytest.mark.parametrize(("hours", "age_h", "reason"), [
    (48, None, "nat_missing"), (48, 47.9, None), (48, 48.0, None), (48, 48.01, "nat_stale"),
    (24, 30, "nat_stale"), (72, 30, None),
])
def test_nat_window(hours: int, age_h: float | None, reason: str | None) -> None:
    nat = None if age_h is None else NOW - age_h * 3600
    d = decide(36.5, CodeFacts(True, "G", nat_at=nat), policy(nat_max_age_h=hours), NOW)
    assert d.reasons == ((reason,) if reason else ())


def test_every_applicable_reason_is_listed_in_canonical_order() -> None:
    p = policy(risk_areas=("440104",), nat_max_age_h=24)
    facts = CodeFacts(True, "R", ("440104",), trip_star=True, nat_at=None)
    d = decide(39.0, facts, p, NOW)
    assert d.reasons == ("fever", "code_red", "trip_star", "trip_risk_area", "nat_missing")
    assert d.is_alert


def test_reasons_always_in_vocabulary_and_pass_iff_none() -> None:
    p = policy(risk_areas=("440104",), nat_max_age_h=48)
    temps = [None, 36.0, 37.3]
    codes = [None, CodeFacts(False)] + [
        CodeFacts(True, c, a, s, n)
        for c, a, s, n in itertools.product("GYR", [(), ("440104",)], [False, True], [None, NOW - 3600])
    ]
    for t, c in itertools.product(temps, codes):
        d = decide(t, c, p, NOW)
        assert set(d.reasons) <= set(REASONS)
        assert (d.verdict is Verdict.PASS) == (d.reasons == ())
        assert list(d.reasons) == sorted(d.reasons, key=REASONS.index)


def test_an_unsynchronised_clock_judges_the_test_age_on_when_the_code_was_made() -> None:
    """S2: the kiosk's clock may be a day off until network time steps it; the phone made the code on
    the platform's clock a moment ago, so the test's age is judged there (or not at all)."""
    policy = PolicyConfig(nat_max_age_h=48)
    made = 1_765_900_000.0
    fresh = CodeFacts(True, "G", nat_at=made - 40 * 3600, made_at=made)
    stale = CodeFacts(True, "G", nat_at=made - 50 * 3600, made_at=made)
    fast, slow = made + 86400, made - 86400  # the kiosk's wall clock, a day off either way
    assert decide(36.5, fresh, policy, fast, clock_synced=False).reasons == ("clock_unsynced",)
    assert decide(36.5, stale, policy, slow, clock_synced=False).reasons == ("clock_unsynced", "nat_stale")
    unknown = CodeFacts(True, "G", nat_at=made - 50 * 3600)  # a certificate: no making time
    assert decide(36.5, unknown, policy, fast, clock_synced=False).reasons == ("clock_unsynced",)
    assert decide(36.5, fresh, policy, fast).reasons == ("nat_stale",)  # synchronised: the kiosk's clock rules
