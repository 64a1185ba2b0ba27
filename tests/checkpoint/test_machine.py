"""The checkpoint state machine, driven by synthetic frames and codes on a plain time line."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.checkpoint import Phase, Verdict
from kiosk.config import PolicyConfig
from kiosk.ports import Screen, ThermalFrame
from tests.checkpoint.rig import DT, FORGED, GREEN, RED, WALL0, Rig, frame


def test_healthy_visitor_passes_and_kiosk_returns_to_idle(rig: Rig) -> None:
    rig.run(1.0)
    assert rig.cp.phase is Phase.IDLE and rig.cp.screen is Screen.ATTRACT
    rig.run(2.0, 36.5, code=GREEN)
    assert len(rig.outcomes) == 1
    out = rig.outcomes[0]
    assert out.decision.verdict is Verdict.PASS and out.temperature_c == 36.5
    assert rig.cp.screen is Screen.PASS and rig.cp.shown_temperature == 36.5
    rig.run(3.0, 36.5, code=GREEN)  # still holding the phone up: the same visitor, not a new one
    assert len(rig.outcomes) == 1
    rig.run(1.0)  # walks away
    assert rig.cp.phase is Phase.IDLE
    # A still, tracked visitor may be read (one full frame) as soon as they have settled in the spot:
    # MEASURING may not even be drawn before PASS.
    assert rig.screens[0] is Screen.ATTRACT and rig.screens[-2:] == [Screen.PASS, Screen.ATTRACT]
    assert set(rig.screens) <= {Screen.ATTRACT, Screen.MEASURING, Screen.PASS}


def test_fever_is_stop_after_one_remeasure(rig: Rig) -> None:
    rig.run(1.5, 38.4, code=GREEN)
    assert rig.cp.phase is Phase.REMEASURE and rig.cp.screen is Screen.REMEASURING
    assert rig.cp.shown_temperature == 38.4 and not rig.outcomes
    rig.run(3.0, 38.4, code=GREEN)
    (out,) = rig.outcomes
    assert out.decision.reasons == ("fever",) and out.temperature_c == 38.4 and out.first_reading_c == 38.4


def test_remeasure_below_threshold_passes(rig: Rig) -> None:
    """A re-measure that agrees with the first reading (within both uncertainties) and is clear of
    the threshold decides; one that disagrees never does (tests/checkpoint/test_readings.py)."""
    rig.run(1.25, 37.4, code=GREEN)
    assert rig.cp.phase is Phase.REMEASURE
    rig.run(3.0, 37.0, code=GREEN)
    (out,) = rig.outcomes
    assert out.decision.verdict is Verdict.PASS and out.temperature_c == 37.0 and out.first_reading_c == 37.4
    assert out.readings[0].c == 37.4 and out.readings[-1].c == 37.0  # a one-frame look, then the readings


def test_no_remeasure_when_configured_off(rig: Rig) -> None:
    rig.policy.replace(PolicyConfig(remeasure=False))
    rig.run(1.5, 38.0, code=GREEN)
    assert rig.outcomes[0].decision.reasons == ("fever",)


def test_no_code_times_out() -> None:
    rig = Rig(no_code_timeout_s=5.0)
    rig.run(4.5, 36.5)
    assert not rig.outcomes and rig.cp.screen is Screen.MEASURING
    rig.run(1.0, 36.5)
    (out,) = rig.outcomes
    assert out.decision.reasons == ("no_code",) and out.temperature_c == 36.5


def test_invalid_code_waits_for_a_valid_one(rig: Rig) -> None:
    rig.run(1.25, 36.5, code=FORGED)
    rig.run(0.5, 36.5, code=GREEN)
    assert rig.outcomes[0].decision.verdict is Verdict.PASS


def test_invalid_code_alone_is_code_invalid(rig: Rig) -> None:
    rig.run(4.0, 36.5, code=FORGED)
    assert rig.outcomes[0].decision.reasons == ("code_invalid",)


def test_sensor_fault_fails_closed_and_recovers(rig: Rig) -> None:
    rig.run(1.0)
    rig.run(1.5, frames=False)
    assert rig.cp.sensor_faulty and rig.cp.screen is Screen.FAULT
    rig.run(0.5, frames=False, code=GREEN)  # a visitor shows a green code to a blind kiosk
    (out,) = rig.outcomes
    assert out.decision.verdict is Verdict.STOP and out.decision.reasons == ("sensor_fault",)
    assert out.temperature_c is None
    rig.run(4.0)  # sensor answers again, spot empty
    assert not rig.cp.sensor_faulty and rig.cp.phase is Phase.IDLE and rig.cp.screen is Screen.ATTRACT
    rig.run(2.0, 36.4, code=RED)
    assert rig.outcomes[1].decision.reasons == ("code_red",)


def test_sensor_fault_during_measurement_lists_code_reasons_too(rig: Rig) -> None:
    rig.run(0.5, 36.5, width=5)  # still too far to be read
    rig.run(2.0, frames=False, code=RED)
    assert rig.outcomes[0].decision.reasons == ("sensor_fault", "code_red")


def test_visitor_who_walks_away_is_not_decided(rig: Rig) -> None:
    rig.run(0.5, 36.5)
    rig.run(3.0)
    assert not rig.outcomes and rig.cp.phase is Phase.IDLE


def test_too_far_prompts_and_does_not_measure(rig: Rig) -> None:
    rig.run(2.0, 36.5, width=4, code=GREEN)
    assert rig.cp.screen is Screen.STEP_CLOSER and rig.cp.progress == 0.0 and not rig.outcomes
    rig.run(1.5, 36.5, code=GREEN)
    assert rig.outcomes[0].decision.verdict is Verdict.PASS


def test_companion_behind_is_flagged_and_two_side_by_side_wait(rig: Rig) -> None:
    rig.run(0.5, 36.5, second=(4, 36.0))
    assert rig.cp.companion and rig.cp.screen is Screen.MEASURING
    rig2 = Rig()
    rig2.run(2.0, 36.5, second=(9, 36.0), code=GREEN)
    assert rig2.cp.screen is Screen.ONE_AT_A_TIME and not rig2.outcomes


@pytest.mark.parametrize("glitch", [np.nan, 90.0])
def test_a_single_bad_pixel_cannot_make_or_hide_a_fever(rig: Rig, glitch: float) -> None:
    rig.t += DT
    f = frame(rig.t, 36.5)
    f.pixels[6, 16] = glitch
    for _ in range(4):
        rig.cp.on_frame(rig.t, f)
    rig.cp.on_code(rig.t, GREEN)
    (out,) = rig.cp.tick(rig.t, WALL0)
    assert out.temperature_c == 36.5


def test_the_loop_survives_failing_parts_and_never_passes_without_a_temperature(tmp_path) -> None:
    """A decoder that crashes, a display that raises and a driver bug: the kiosk keeps deciding, fail-closed."""
    from kiosk.clock import VirtualClock
    from kiosk.config import KioskConfig
    from kiosk.feed import Feed
    from kiosk.healthpass import CodeResult
    from kiosk.loop import Kiosk
    from kiosk.outbox import Outbox
    from kiosk.ports import GrayFrame, Signal

    clock = VirtualClock()

    class BrokenSensor:
        due = clock.monotonic() + 0.25

        def next_frame_at(self) -> float:
            return self.due

        def read_frame(self) -> ThermalFrame:
            clock.sleep_until(self.due)
            self.due += 0.25
            raise ValueError("driver bug")

        def close(self) -> None: ...

    class Camera:
        due = clock.monotonic() + 0.125

        def next_frame_at(self) -> float:
            return self.due

        def read_frame(self) -> GrayFrame:
            clock.sleep_until(self.due)
            self.due += 0.125
            return GrayFrame(np.zeros((4, 4), np.uint8), clock.monotonic())

        def close(self) -> None: ...

    calls = {"n": 0}

    class FlakyDecoder:
        def decode(self, y: np.ndarray) -> list[str]:
            calls["n"] += 1
            if calls["n"] % 2:
                raise RuntimeError("zbar crashed")
            return ["THP1:anything"]

    class Verifier:
        def verify(self, text: str, at: float) -> CodeResult:
            return CodeResult(valid=False, error="base45")

    class BadDisplay:
        def render(self, view: object) -> None:
            raise OSError("panel gone")

        def close(self) -> None: ...

    class Quiet:
        def show(self, signal: Signal, now: float) -> None: ...

        def update(self, now: float) -> None: ...

        def close(self) -> None: ...

    outbox = Outbox(tmp_path / "o.sqlite")
    feed = Feed.build(KioskConfig(), clock, outbox)
    kiosk = Kiosk(config=KioskConfig(), clock=clock, sensor=BrokenSensor(), camera=Camera(),
                  decoder=FlakyDecoder(), verifier=Verifier(), signals=Quiet(), display=BadDisplay(),
                  sink=feed.entries)
    decided: list[object] = []
    kiosk.on_outcome.append(lambda outcome, event: decided.append(event))
    end = clock.monotonic() + 10
    kiosk.run(until=lambda: clock.monotonic() >= end or bool(decided))
    assert decided, "the kiosk stopped deciding"
    event = decided[0]
    assert event.decision == "STOP" and event.reasons == ("sensor_fault", "code_invalid")  # type: ignore[attr-defined]
    assert outbox.pending_count() == 1
    outbox.close()
