"""Review: defects of the checkpoint state machine, shown on a plain time line (real Screening)."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.checkpoint import Phase, ScannedCode, Verdict
from kiosk.ports import Screen, ThermalFrame
from tests.checkpoint.rig import DT, GREEN, RED, WALL0, Rig


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


def _faces_frame(t: float, faces: list[tuple[int, int, float]], ambient: float = 24.0) -> ThermalFrame:
    """A frame with faces given as (first column, width in pixels, °C)."""
    px = np.full((24, 32), ambient)
    for c0, width, face_c in faces:
        px[4:14, c0:c0 + width] = face_c - 1.0
        px[5:8, c0 + 1:c0 + width - 1] = face_c
    return ThermalFrame(px, ambient + 8.0, t)


def _step(rig: Rig, faces: list[tuple[int, int, float]], code: ScannedCode | None = None) -> None:
    rig.t += DT
    rig.cp.on_frame(rig.t, _faces_frame(rig.t, faces))
    if code is not None:
        rig.cp.on_code(rig.t, code)
    rig.outcomes.extend(rig.cp.tick(rig.t, WALL0 + rig.t))


def test_a_code_read_while_its_holder_stood_too_far_is_never_given_to_somebody_stepping_in_nearer(rig: Rig) -> None:
    """F2: A (39.5 °C) stands too far with a green code up: read, held until A steps closer.  B steps
    in nearer, in front of A, and shows nothing; A leaves.  B is STOP no_code — never PASS on A's code."""
    a = (14, 4, 39.5)  # about 1.3 m away, on the axis
    b = (1, 11, 36.5)  # near, at the image's left
    for _ in range(4):
        _step(rig, [a])
    for _ in range(2):
        _step(rig, [a], GREEN)
    visit = rig.cp.visit
    assert visit is not None and visit.pending is not None and visit.pending_track == visit.track
    for _ in range(3):
        _step(rig, [a, b])
    for _ in range(60):
        _step(rig, [b])
    decided = [o for o in rig.outcomes if o.decision.verdict is not Verdict.LEFT]
    assert decided and all(o.decision.verdict is Verdict.STOP for o in decided)
    assert decided[-1].decision.reasons == ("no_code",) and decided[-1].temperature_c == pytest.approx(36.5, abs=0.3)


def test_the_person_just_decided_lost_for_a_frame_is_not_a_new_visitor(rig: Rig) -> None:
    """F4: PASS; their track is lost (missed for a frame, or their face read apart: a turned head) and
    a new one is born where they stood: it is them, still holding their phone up — no new visit, no
    second decision (`code_replayed`) for them."""
    rig.run(2.0, 36.5, code=GREEN)
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.PASS]
    rig.run(DT, None, code=GREEN)  # missed: nothing found this frame ...
    rig.run(1.5, 36.5, code=GREEN)  # ... and there again, where they stood
    for face_c in (37.2, 36.5, 37.2):
        rig.run(1.5, face_c, code=GREEN)  # their face reads apart: a new track, born where they stood
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.PASS]
    assert rig.cp.visit is None


def test_a_warm_face_where_the_decided_persons_cool_head_was_is_the_next_visitor(rig: Rig) -> None:
    """The person just stopped (a fever) turns to leave: the back of their head, cool, where they
    stood, is still them.  The next visitor stepping into that place shows a warm face there: a new
    visitor, measured and decided — never taken for the one who lingers (who would leave them
    standing there undecided)."""
    rig.run(4.0, 38.6, code=GREEN)
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.STOP]
    rig.run(0.5, 32.0)  # turned away: the back of the head
    assert rig.cp.visit is None
    rig.run(4.0, 36.2, code=ScannedCode("next", GREEN.facts))
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.STOP, Verdict.PASS]
    assert rig.outcomes[-1].temperature_c == pytest.approx(36.2, abs=0.3)


def test_the_person_just_decided_is_let_go_for_somebody_a_body_nearer_in_their_line(rig: Rig) -> None:
    """Nobody decided is asked to step closer: a face a body's depth nearer in the same line where the
    decided person stood (a bridged track) is somebody stepping in front of them, a new visitor."""
    rig.run(2.0, 36.5, code=GREEN, width=7)  # ~0.77 m
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.PASS]
    rig.run(4.0, 36.4, code=ScannedCode("next", GREEN.facts), width=12)  # ~0.45 m
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.PASS, Verdict.PASS]


@pytest.mark.parametrize("phone_up", [True, False])
def test_the_person_just_decided_leaning_in_is_still_the_person_decided(rig: Rig, phone_up: bool) -> None:
    """Passed at ~0.9 m, they lean toward the screen (their face a pixel wider: bridged, not a body's
    depth nearer): no new visit, no second decision (`code_replayed`, or `no_code` with the phone down)."""
    rig.run(0.25, 36.5, code=GREEN, width=7)
    rig.run(2.0, 36.5, code=GREEN, width=6)
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.PASS]
    rig.run(15.0, 36.5, code=GREEN if phone_up else None, width=7)
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.PASS] and rig.cp.visit is None


def test_the_person_stopped_on_an_earlier_code_holding_their_own_phone_up_sees_their_stop(rig: Rig) -> None:
    """V1 (too far) showed a red code; V2 steps in front in their line (a bridge) and shows a green one:
    STOP `code_red` (reported, staff check).  V2, still holding their own phone up, is the person
    decided — not somebody showing a code over their shoulder (one at a time)."""
    rig.run(1.5, 36.6, code=RED, width=5)
    v2 = ScannedCode("v2", GREEN.facts)
    rig.run(4.0, 36.4, code=v2, width=8)
    (out,) = rig.outcomes
    assert out.decision.reasons == ("code_red",) and out.code is not None and out.code.key == "red"
    rig.run(1.0, 36.4, code=v2, width=8)
    assert not rig.cp.over_shoulder and rig.cp.screen is not Screen.ONE_AT_A_TIME


def test_the_person_just_decided_whose_face_width_wanders_far_off_is_still_the_person_decided(rig: Rig) -> None:
    """Passed, they step back to ~1.4 m to read the screen; there their face is 4-5 pixels wide and
    wanders by one (1.4 m ↔ 1.1 m): no new visit, no prompt, no second decision."""
    rig.run(2.0, 36.5, code=GREEN, width=7)
    for width in (6, 5, 4):
        rig.run(0.75, 36.5, width=width)
    for _ in range(6):
        rig.run(0.25, 36.5, width=5, code=GREEN)
        rig.run(0.5, 36.5, width=4, code=GREEN)
        assert rig.cp.visit is None
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.PASS]


def test_the_next_visitor_taken_for_the_person_decided_is_let_go_when_they_show_their_code(rig: Rig) -> None:
    """An eager swap: the person decided turns to leave, both are hidden for a frame, and the next
    visitor's face comes back where the decided person's track can still reach: taken for them.  The
    track was lost from sight since the decision, so a code not theirs, shown by whoever stands
    there, is the next visitor's: measured and decided — never left standing there undecided."""
    rig.run(2.0, 36.3, code=GREEN, width=9)
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.PASS]
    rig.run(DT, None)  # both hidden for a frame
    other = ScannedCode("next", GREEN.facts)
    rig.run(4.0, 36.7, code=other, width=9)
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.PASS, Verdict.PASS]
    assert rig.outcomes[1].code is other and rig.outcomes[1].temperature_c == pytest.approx(36.7, abs=0.2)


def test_a_person_stopped_and_lost_for_a_frame_is_never_passed_on_a_code_over_their_shoulder(rig: Rig) -> None:
    """A is stopped (red code) and lingers, phone down; their head turns away for a frame; somebody
    behind holds a green phone over their shoulder.  Whoever stands there may be A: the new visit the
    code starts inherits what stopped A — STOP, a staff check, never a PASS on somebody else's code."""
    rig.run(2.0, 36.4, code=RED, width=9)
    rig.run(1.0, 36.4, width=9)
    rig.run(DT, None)
    rig.run(1.0, 36.4, width=9)
    rig.run(4.0, 36.4, code=ScannedCode("b-green", GREEN.facts, person_key="pB"), width=9)
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.STOP] * len(rig.outcomes)
    assert all("code_red" in o.decision.reasons for o in rig.outcomes)


def test_the_person_decided_holding_their_own_phone_is_them_after_a_stray_read(rig: Rig) -> None:
    """Passed, phone up; hidden for a frame; a neighbour's phone read now and then between reads of
    their own: their own phone says the track is them — no second decision (`code_replayed`)."""
    mine = ScannedCode("a-text", GREEN.facts, person_key="pA")
    stray = ScannedCode("stray", GREEN.facts, person_key="pX")
    rig.run(2.0, 36.5, code=mine, width=9)
    rig.run(DT, None)
    for _ in range(4):
        rig.run(DT, 36.5, code=stray, width=9)
        rig.run(DT, 36.5, code=mine, width=9)
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.PASS]


def test_the_person_decided_reading_as_they_did_is_never_let_go_for_a_code_over_their_shoulder(rig: Rig) -> None:
    """Passed; their head turns for a frame; a phone behind them is read again and again.  The face there
    reads as theirs did (no other body): still them, one at a time — not re-measured and passed on the
    phone's code (which would record its holder as passed, never measured)."""
    rig.run(2.0, 36.4, code=GREEN, width=9)
    rig.run(DT, None)
    rig.run(4.0, 36.4, code=ScannedCode("b-green", GREEN.facts, person_key="pB"), width=9)
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.PASS]
    assert rig.cp.screen is Screen.ONE_AT_A_TIME
