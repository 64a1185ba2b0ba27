"""The checkpoint's thermal rules on a plain time line: the uncertainty band, cold arrivals who
come back, warnings, drift, and sensor faults within a second."""

from __future__ import annotations

from kiosk.checkpoint import CodeFacts, Phase, ScannedCode, Verdict
from kiosk.ports import Screen
from tests.checkpoint.rig import GREEN, RED, Rig

OTHER = ScannedCode("other-green", CodeFacts(True, "G"))


def test_reading_inside_the_band_below_the_threshold_is_remeasured_not_passed(rig: Rig) -> None:
    rig.run(0.5, 37.2, code=GREEN)  # 0.1 below 37.3, ± ~0.22: a PASS now would be a guess
    assert rig.cp.phase is Phase.REMEASURE and rig.cp.screen is Screen.REMEASURING and not rig.outcomes
    assert rig.cp.shown_temperature == 37.2
    u = rig.cp.shown_uncertainty
    assert u is not None and 0.1 < u < 0.4  # the screen can say "37.2 ± 0.2, measuring again"
    rig.run(3.0, 37.2, code=GREEN)
    (out,) = rig.outcomes
    assert out.decision.verdict is Verdict.PASS and out.temperature_c == 37.2 and out.uncertainty_c is not None


def test_reading_clear_of_the_band_is_decided_at_once(rig: Rig) -> None:
    rig.run(1.5, 36.6, code=GREEN)
    (out,) = rig.outcomes
    assert out.first_reading_c == 36.6 and out.decision.verdict is Verdict.PASS
    assert Screen.REMEASURING not in rig.screens


def test_cold_arrival_is_asked_to_come_back_and_recognised_on_return() -> None:
    rig = Rig(decision_display_s=3.0)
    rig.run(2.0, 32.5, code=GREEN)  # fresh from a winter street: 32.5 °C is not a temperature
    assert rig.cp.screen is Screen.COME_BACK and rig.cp.shown_temperature is None
    assert not rig.outcomes  # nothing is recorded as an entry, no temperature is published
    rig.run(2.0)  # walks off
    rig.run(1.0)
    assert rig.cp.phase is Phase.IDLE
    rig.run(2.0, 36.3, code=OTHER)  # somebody else meanwhile
    assert rig.outcomes[-1].decision.verdict is Verdict.PASS
    rig.run(3.5)
    rig.t += 240.0  # four minutes later
    rig.run(1.5, 36.4, code=GREEN)  # the same code: a returning visitor, now warm
    assert rig.outcomes[-1].decision.verdict is Verdict.PASS and rig.outcomes[-1].temperature_c == 36.4
    assert Screen.COME_BACK in rig.screens


def test_returning_visitor_still_cold_goes_to_staff_without_a_temperature(rig: Rig) -> None:
    rig.run(2.0, 32.0, code=GREEN)
    assert rig.cp.screen is Screen.COME_BACK
    rig.run(4.0)
    rig.t += 200.0
    rig.run(2.5, 32.2, code=GREEN)
    out = rig.outcomes[-1]
    assert out.decision.verdict is Verdict.STOP and out.decision.reasons == ("sensor_fault",)
    assert out.temperature_c is None  # 32.2 is never published as a temperature


def test_come_back_memory_expires() -> None:
    rig = Rig(come_back_memory_s=120.0)
    rig.run(2.0, 32.0, code=GREEN)
    rig.run(4.0)
    rig.t += 600.0  # long forgotten: treated as a first arrival, asked to come back again
    rig.run(2.0, 32.0, code=GREEN)
    assert rig.cp.screen is Screen.COME_BACK and not rig.outcomes


def test_cold_room_sends_cooled_skin_back_but_measures_warm_visitors(rig: Rig) -> None:
    rig.run(2.0, 35.0, code=GREEN, ambient=12.0)  # 35.0 in a 12 °C hall: cooled skin
    assert rig.cp.screen is Screen.COME_BACK
    assert rig.cp.warnings == ("warning_ambient",)
    rig.run(4.0, ambient=12.0)
    rig.run(2.0, 36.5, code=RED, ambient=12.0)
    assert rig.outcomes[-1].decision.reasons == ("code_red",) and rig.outcomes[-1].temperature_c == 36.5


def test_final_readings_feed_the_drift_tracker(rig: Rig) -> None:
    drift = rig.cp.screening.drift
    for _ in range(16):
        rig.run(1.5, 35.9, code=GREEN)
        rig.run(4.0)
        rig.t += 61.0  # the same test code may be shown again after SAME_CODE_S
    assert drift.count == 16 and drift.drift_c == -0.6 and drift.drifting
    assert "warning_drift" in rig.cp.warnings


def test_sensor_fault_within_one_second_and_recovery(rig: Rig) -> None:
    rig.run(1.0)
    rig.run(0.75, frames=False)
    assert not rig.cp.sensor_faulty
    rig.run(0.5, frames=False)  # 1.25 s without a valid frame
    assert rig.cp.sensor_faulty and rig.cp.screen is Screen.FAULT
    rig.run(0.5)
    assert not rig.cp.sensor_faulty and rig.cp.screen is Screen.ATTRACT


def test_readings_above_the_skin_range_are_never_published_and_become_a_fault(rig: Rig) -> None:
    rig.run(3.0, 44.5, code=GREEN)  # no skin is 44.5 °C: a heater in view, or a broken sensor
    (out,) = rig.outcomes  # two refused readings: decided for a manual check, without a number
    assert out.decision.reasons == ("sensor_fault",) and out.temperature_c is None
    assert rig.cp.shown_temperature is None
    assert Screen.REMEASURING not in rig.screens
