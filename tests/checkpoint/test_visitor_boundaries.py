"""Review: defects of the checkpoint state machine, shown on a plain time line (real Screening)."""

from __future__ import annotations

from kiosk.checkpoint import Phase, Verdict
from kiosk.ports import Screen
from tests.checkpoint.rig import GREEN, Rig


def test_reading_of_a_person_who_left_is_not_used_for_the_next_one(rig: Rig) -> None:
    """A is measured (36.5) and walks off without a code; the spot is empty for 1.5 s (< VISITOR_GONE_S);
    B, at 38.5 °C, steps up and shows a green code.  B must not PASS on A's temperature."""
    rig.run(1.5, 36.5)  # A: a reading is taken
    rig.run(1.5)  # the spot is empty: A has left
    rig.run(3.0, 38.5, code=GREEN)  # B
    assert rig.outcomes, "B was never decided"
    out = rig.outcomes[0]
    assert out.decision.verdict is Verdict.STOP and "fever" in out.decision.reasons, \
        f"B (38.5 °C) decided {out.decision.verdict} with temperature {out.temperature_c}"


def test_visitor_who_passed_and_lingers_with_the_phone_is_not_decided_again(rig: Rig) -> None:
    """PASS, then the visitor stays at the kiosk holding the same code up (SAME_CODE_S says: the
    same visitor).  After CLEAR_TIMEOUT_S the kiosk re-measures them, ignores their code as a
    duplicate and issues a second decision: STOP no_code, with the buzzer and an event."""
    rig.run(2.0, 36.5, code=GREEN)
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.PASS]
    rig.run(40.0, 36.5, code=GREEN)
    assert [(o.decision.verdict, o.decision.reasons) for o in rig.outcomes] == [(Verdict.PASS, ())]


def test_visitor_drifting_out_of_range_during_remeasure_is_prompted(rig: Rig) -> None:
    """During the re-measure the screen says REMEASURING whatever the placement, so a visitor who
    stepped back is never asked to step closer, gets no reading, and is finally decided with
    `sensor_fault` although the sensor works."""
    rig.run(1.5, 38.4, code=GREEN)
    assert rig.cp.phase is Phase.REMEASURE
    rig.run(2.0, 38.4, code=GREEN, width=5)  # ~1.06 m: too far
    assert rig.cp.screen is Screen.STEP_CLOSER


def test_code_of_a_person_who_left_is_not_used_for_the_next_one(rig: Rig) -> None:
    """A shows a green code while standing too close (no reading yet), then walks off.  Once a code
    is held `_gone` never ends the visit, so B, who steps up 3 s later and shows nothing, is
    measured and PASSes on A's code."""
    rig.run(1.0, 36.5, code=GREEN, width=24)  # A: too close, code shown
    assert rig.cp.screen is Screen.STEP_BACK
    rig.run(3.0)  # nobody in view for longer than VISITOR_GONE_S
    rig.run(12.0, 36.5)  # B, no code
    assert rig.outcomes, "nobody was decided"
    out = rig.outcomes[0]
    assert out.decision.verdict is Verdict.STOP and "no_code" in out.decision.reasons, \
        f"B (no code) decided {out.decision.verdict} {out.decision.reasons}"
