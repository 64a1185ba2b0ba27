"""Prompts that ask the visitor to do something instead of deciding: hold still; show one code only."""

from __future__ import annotations

from collections.abc import Callable

from kiosk.checkpoint import Phase, Verdict
from kiosk.ports import Screen
from tests.checkpoint.rig import DT, GREEN, Rig, frame
from tests.loop.rig import SimulatedKiosk


def test_wandering_readings_ask_to_hold_still_and_never_decide_on_them(rig: Rig) -> None:
    rig.run(DT, 37.5, width=5, code=GREEN)  # walking up
    for i in range(16):  # 4 s of a face jumping by 1.5 °C from frame to frame (turning, stepping about)
        rig.run(DT, 36.0 if i % 2 else 37.5, code=GREEN)
    assert rig.cp.screen is Screen.HOLD_STILL
    assert not rig.outcomes and rig.cp.shown_temperature is None
    rig.run(2.0, 36.5, code=GREEN)  # stands still
    assert rig.outcomes and rig.outcomes[0].decision.verdict is Verdict.PASS
    assert abs(rig.outcomes[0].temperature_c - 36.5) <= 0.2  # the first steady window may hold one 36.0 frame
    assert Screen.HOLD_STILL in rig.screens and rig.screens[-1] is Screen.PASS


def test_a_steady_visitor_is_never_asked_to_hold_still(rig: Rig) -> None:
    rig.run(3.0, 36.5, code=GREEN)
    assert Screen.HOLD_STILL not in rig.screens and rig.outcomes


def test_several_codes_are_explained_and_none_is_decided_on(rig: Rig) -> None:
    for _ in range(12):  # 3 s: two phones held up together (the decoder reports both)
        rig.t += DT
        rig.cp.on_frame(rig.t, frame(rig.t, 36.5))
        rig.cp.on_several_codes(rig.t)
        assert rig.cp.tick(rig.t, 0.0) == []
        assert rig.cp.screen is Screen.ONE_CODE and rig.cp.phase is Phase.MEASURING
    rig.run(2.5, 36.5, code=GREEN)  # the companion puts theirs away
    assert rig.outcomes and rig.outcomes[0].decision.verdict is Verdict.PASS


class _SecondPhone:
    """The real decoder, plus a second person's code in view until `until` (monotonic seconds)."""

    def __init__(self, inner, clock, until: float) -> None:
        self.inner, self.clock, self.until = inner, clock, until

    def decode(self, y):
        texts = list(self.inner.decode(y))
        if texts and self.clock.monotonic() < self.until:
            texts.append("THP1:SOMEONE-ELSES-CODE")
        return texts


def test_two_phones_through_the_real_loop_show_one_code_then_decide(
        simulated: Callable[..., SimulatedKiosk]) -> None:
    sim = simulated()
    kiosk, clock = sim.kiosk, sim.clock
    start = clock.monotonic()
    kiosk.decoder = _SecondPhone(kiosk.decoder, clock, until=start + 5.0)
    outcomes = []
    kiosk.on_outcome.append(lambda outcome, event: outcomes.append((clock.monotonic(), outcome)))
    sim.play(seconds=20.0)
    screens = [v.screen for v in sim.views]
    assert Screen.ONE_CODE in screens
    assert len(outcomes) == 1
    decided_at, outcome = outcomes[0]
    assert decided_at >= start + 5.0  # nothing decided while both codes were in view
    assert outcome.decision.verdict is Verdict.PASS
