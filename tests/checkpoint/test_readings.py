"""Readings that disagree, readings of the visitor's own, and what a visitor who walks off is
recorded with (issue 12): the rule on its own, then the state machine on a time line."""

from __future__ import annotations

import pytest

from kiosk.checkpoint import CodeFacts, Phase, ScannedCode, Verdict
from kiosk.checkpoint.readings import Next, TakenReading, fever_established, judged, next_step
from kiosk.config import PolicyConfig
from kiosk.ports import Screen
from kiosk.screening import Placement
from tests.checkpoint.rig import DT, GREEN, RED, Rig

T = 37.3


def r(c: float, u: float = 0.22, frames: int = 4) -> TakenReading:
    return TakenReading(c, u, 0.0, frames=frames)


@pytest.mark.parametrize(("readings", "step", "verdict"), [
    ([r(36.5)], Next.DONE, 36.5),
    ([r(36.5, frames=1)], Next.DONE, 36.5),  # a clear look is the reading
    ([r(38.6)], Next.REMEASURE, 38.6),  # a fever: re-measured after the pause
    ([r(37.2)], Next.AGAIN, 37.2),  # the band holds the threshold: once more, at once
    ([r(37.4, frames=1)], Next.AGAIN, 37.4),  # a look near the threshold: at once, never a pause
    ([r(38.6), r(38.4)], Next.DONE, 38.4),  # agree: the re-measure decides, a fever
    ([r(38.6), r(36.4)], Next.AGAIN, 38.6),  # disagree, the lower one is never the verdict
    ([r(38.6), r(36.4), r(36.5)], Next.DONE, 38.6),  # still disagreeing: STOP on the highest, for staff
    ([r(38.6), r(36.4), r(38.5)], Next.DONE, 38.6),
    ([r(37.4), r(37.0)], Next.DONE, 37.0),  # agree within both bands, clear of the threshold: passes
    ([r(37.4), r(37.2)], Next.DONE, 37.4),  # agree, but the re-measure cannot rule the fever out
    ([r(37.2), r(38.4)], Next.DONE, 38.4),  # a higher re-measure decides
    ([r(37.3, frames=1), r(37.2)], Next.DONE, 37.2),  # after a near look, the careful reading decides
    ([r(37.3, frames=1), r(37.4)], Next.REMEASURE, 37.4),  # ... and if it is a fever, it is re-measured
    ([r(37.3, frames=1), r(36.5)], Next.AGAIN, 37.3),  # lower than the look and disagreeing: once more
])
def test_the_rule(readings: list[TakenReading], step: Next, verdict: float) -> None:
    assert next_step(readings, T, remeasure=True) is step
    chosen = judged(readings, T)
    assert chosen is not None and chosen.c == verdict


def test_a_fever_is_established_once_confirmed_or_once_a_lower_reading_could_not_refute_it() -> None:
    assert not fever_established([r(38.6)], T, remeasure=True)  # shown, not confirmed
    assert fever_established([r(38.6)], T, remeasure=False)  # no re-measure by policy: it stands
    assert fever_established([r(38.6)], T, remeasure=True, remeasure_failed=True)  # a cold re-measure
    assert fever_established([r(38.6), r(38.5)], T, remeasure=True)
    assert fever_established([r(38.6), r(36.4)], T, remeasure=True)  # never settled by the lower one
    assert not fever_established([r(37.4), r(37.0)], T, remeasure=True)
    assert not fever_established([r(36.6)], T, remeasure=False)


def test_a_fever_then_a_much_lower_re_measure_is_never_a_pass_and_the_event_keeps_every_reading() -> None:
    """38.6 °C shown; then the face where they stand reads 36.4 from one frame to the next (a hand on
    the forehead, a turned head — or somebody else): a break in seeing them.  The visit goes on in
    a new stretch: the fever shown before stops them (`fever`, for staff to check), the temperature
    reported is the one read since the break (never a reading that may have been somebody else's),
    and the event keeps every reading."""
    rig = Rig()
    rig.run(0.75, 38.6, code=GREEN)
    assert rig.cp.phase is Phase.REMEASURE and rig.cp.shown_temperature == 38.6
    rig.run(5.0, 36.4, code=GREEN)
    (out,) = rig.outcomes
    assert out.decision.verdict is Verdict.STOP and out.decision.reasons == ("fever",)
    assert out.decision.is_alert and out.temperature_c == 36.4
    assert [x.c for x in out.readings][:1] == [38.6] and [x.c for x in out.readings][-1] == 36.4
    assert out.readings[0].stretch < out.readings[-1].stretch


def test_a_reading_is_taken_of_the_person_who_stands_there_now() -> None:
    """The reading a PASS would rest on dies when the face in the spot reads warmer than it did."""
    rig = Rig()
    rig.run(0.5, 36.5)  # read, no code yet
    visit = rig.cp.visit
    assert visit is not None and visit.done and [x.c for x in visit.readings] == [36.5]
    rig.run(DT, 37.9)  # warmer by 1.4 °C at the same place: not the face that was read
    rig.run(3.0, 37.9, code=GREEN)
    (out,) = rig.outcomes
    assert out.temperature_c == 37.9 and "fever" in out.decision.reasons


def test_a_visitor_who_walks_off_is_left_with_the_alerts_established() -> None:
    confirmed = Rig()
    confirmed.run(3.0, 38.6)  # a fever, re-measured: confirmed; no code shown
    confirmed.run(1.0)  # gone
    (out,) = confirmed.outcomes
    assert out.decision.verdict is Verdict.LEFT and out.decision.reasons == ("fever",) and out.decision.is_alert
    assert out.temperature_c == 38.6 and len(out.readings) == 2
    red = Rig()
    red.run(0.75, 38.6, code=RED)  # a red code read, the fever not yet confirmed
    red.run(1.0)
    (out,) = red.outcomes
    assert out.decision.verdict is Verdict.LEFT and out.decision.reasons == ("code_red",)
    quiet = Rig()
    quiet.run(0.75, 36.5, code=ScannedCode("forged", CodeFacts(False)))  # nothing against anybody
    quiet.run(1.0)
    assert quiet.outcomes == [] and quiet.cp.phase is Phase.IDLE


def test_drift_that_hides_fevers_is_a_fault_not_a_warning() -> None:
    rig = Rig()
    for _ in range(20):  # the crowd's median 1 °C below the baseline: the sensor reads low
        rig.cp.screening.drift.add(35.5)
    assert rig.cp.screening.drift_fault
    rig.run(1.0)
    assert rig.cp.screen is Screen.FAULT
    rig.run(2.0, 36.5, code=GREEN)
    (out,) = rig.outcomes
    assert out.decision.verdict is Verdict.STOP and "sensor_fault" in out.decision.reasons
    up = Rig()
    for _ in range(20):  # up: a warning (healthy visitors stopped, staff see them), never a shut door
        up.cp.screening.drift.add(37.6)
    assert up.cp.screening.drift.drifting and not up.cp.screening.drift_fault


def test_no_remeasure_policy_decides_on_the_first_reading() -> None:
    rig = Rig()
    rig.policy.replace(PolicyConfig(remeasure=False))
    rig.run(1.0, 38.4, code=GREEN)
    (out,) = rig.outcomes
    assert out.decision.reasons == ("fever",) and [x.c for x in out.readings] == [38.4]


def test_a_visitor_who_steps_closer_goes_on_as_one_visit_in_a_new_stretch() -> None:
    """Asked to step closer, the visitor steps straight in: their track is bridged, not ended (no
    LEFT, no settling from nothing), but a bridge is a break like an unseen frame: the code read
    while they stood too far is read again before a PASS, and a fever shown before the step still
    stops them, whatever is read after it."""
    rig = Rig()
    rig.run(1.5, 36.5, code=GREEN, width=5)  # ~1.1 m: too far, the code held for their track
    assert rig.cp.screen is Screen.STEP_CLOSER and rig.cp.visit is not None
    visit = rig.cp.visit
    rig.run(1.0, 36.5, width=9)  # stepped to ~0.6 m: settled, read, but the code is from before the step
    assert rig.outcomes == [] and rig.cp.visit is visit and visit.stretch >= 1 and visit.code_now is None
    rig.run(0.5, 36.5, code=GREEN, width=9)  # the phone read again
    (out,) = rig.outcomes
    assert out.decision.verdict is Verdict.PASS and out.temperature_c == 36.5

    fever = Rig()
    fever.run(0.75, 37.6, code=GREEN, width=7)  # ~0.75 m, in range: a fever shown
    assert fever.cp.phase is Phase.REMEASURE
    fever.run(5.0, 37.2, code=GREEN, width=11)  # then a step closer, reading a little cooler
    (out,) = fever.outcomes
    assert out.decision.verdict is Verdict.STOP and out.decision.reasons == ("fever",)
    assert out.readings[0].c == 37.6 and out.temperature_c == out.readings[-1].c < 37.3
    assert out.readings[0].stretch < out.readings[-1].stretch


def test_a_reading_after_a_bridge_is_never_made_of_frames_from_before_it() -> None:
    """A (37.2 °C) stands settled at ~0.9 m; B (37.4, a fever at the threshold) steps in front of A in
    the same line, reading alike: the track is bridged.  Every reading of B's stretch is made of B's
    frames only (two of A's and two of B's would read 37.3) — B is stopped."""
    rig = Rig()
    rig.run(0.25, 37.2, width=7)
    rig.run(2.0, 37.2, width=6)
    rig.run(3.5, 37.38, code=GREEN, width=7)
    (out,) = [o for o in rig.outcomes if o.decision.verdict is not Verdict.LEFT]
    assert out.decision.verdict is Verdict.STOP and "fever" in out.decision.reasons
    assert all(r.c >= 37.4 for r in out.readings if r.stretch == out.readings[-1].stretch)


@pytest.mark.parametrize("back_of_head_c", [36.8, 34.5])
def test_a_head_turned_away_in_the_remeasure_pause_does_not_wipe_the_fever_shown(back_of_head_c: float) -> None:
    """37.6 shown; in the pause they turn their head (a cooler face where they stand, a new track), then
    turn back, more than a degree warmer than the back of their head, and read 37.2: still the visit
    that showed a fever (a new stretch), never a fresh visit passed on the lower reading."""
    rig = Rig()
    rig.run(0.75, 37.6, code=GREEN, width=9)
    assert rig.cp.phase is Phase.REMEASURE
    rig.run(0.75, back_of_head_c, width=9)
    rig.run(6.0, 37.2, code=GREEN, width=9)
    (out,) = rig.outcomes
    assert out.decision.verdict is Verdict.STOP and out.decision.reasons == ("fever",)
    assert out.readings[0].c == 37.6


def test_an_alerting_code_read_before_a_break_is_reported_and_stops_the_visit() -> None:
    """V1 stands too far showing a red code (held for their track); V2 steps in front of them in the
    same line, reading alike (a bridge: whose track it is now is not certain) and shows a green code.
    The red code is not lost: STOP `code_red`, for staff to check — never a PASS over it."""
    rig = Rig()
    rig.run(1.5, 36.6, code=RED, width=5)
    assert rig.cp.visit is not None and rig.cp.visit.pending is not None
    rig.run(4.0, 36.4, code=ScannedCode("v2", CodeFacts(True, "G")), width=8)
    assert [(o.decision.verdict, o.decision.reasons) for o in rig.outcomes] == [(Verdict.STOP, ("code_red",))]
    assert rig.outcomes[0].code is not None and rig.outcomes[0].code.facts.colour == "R"


def test_an_alerting_code_shown_over_by_a_green_one_is_still_reported() -> None:
    """A red code read (held while they stand too far), then a green one over it, then the step
    closer and the green again: STOP `code_red` — a red code shown at the door is never lost."""
    rig = Rig()
    rig.run(0.75, 36.6, code=RED, width=5)
    rig.run(0.5, 36.6, code=ScannedCode("g2", CodeFacts(True, "G")), width=5)
    rig.run(4.0, 36.6, code=ScannedCode("g2", CodeFacts(True, "G")), width=9)
    assert [(o.decision.verdict, o.decision.reasons, o.code and o.code.key) for o in rig.outcomes] \
        == [(Verdict.STOP, ("code_red",), "red")]


def test_a_red_code_shown_during_the_remeasure_is_in_the_decision() -> None:
    """Green taken, near the threshold (a re-measure); a red code is shown meanwhile: in the STOP."""
    rig = Rig()
    rig.run(0.5, 37.35, code=ScannedCode("g2", CodeFacts(True, "G")), width=9)
    assert rig.cp.phase is Phase.REMEASURE
    rig.run(0.75, 37.35, code=RED, width=9)
    rig.run(6.0, 36.9, width=9)
    (out,) = rig.outcomes
    assert out.decision.verdict is Verdict.STOP and "code_red" in out.decision.reasons


def test_an_alerting_code_is_reported_when_the_visit_goes_on_in_an_heir_and_walks_off() -> None:
    """Red held (too far), lost for a frame, a changed face where they stood (the visit goes on, a new
    stretch), then they walk off: LEFT `code_red`, not a quiet end."""
    rig = Rig()
    rig.run(0.75, 36.6, code=RED, width=5)
    rig.run(0.25, None)
    rig.run(0.25, 34.8, width=5)
    rig.run(2.0, None)
    assert [(o.decision.verdict, o.decision.reasons) for o in rig.outcomes] == [(Verdict.LEFT, ("code_red",))]


def test_an_alerting_code_held_to_the_timeout_is_the_code_of_the_stop() -> None:
    """Red held while they stay too far until the code timeout: the STOP names the red code it shows
    (not `no_code`)."""
    rig = Rig()
    rig.run(0.75, 36.6, code=RED, width=5)
    rig.run(40.0, 36.6, width=5)
    (out,) = rig.outcomes
    assert out.decision.verdict is Verdict.STOP and "code_red" in out.decision.reasons
    assert "no_code" not in out.decision.reasons and out.code is not None and out.code.key == "red"


def test_a_visitor_sent_to_warm_up_with_an_alerting_code_is_reported_at_once() -> None:
    """Cold (33 °C) with a red code: asked to come back warmed up — and the red code is recorded now
    (LEFT `code_red`), not only if they come back."""
    rig = Rig()
    rig.run(0.5, 33.0, width=9)
    rig.run(3.0, 33.0, code=RED, width=9)
    assert rig.cp.phase is Phase.COME_BACK
    assert [(o.decision.verdict, o.decision.reasons) for o in rig.outcomes] == [(Verdict.LEFT, ("code_red",))]


def test_a_red_code_read_while_two_stand_in_the_spot_is_not_lost() -> None:
    """A red code is read while two people stand in the spot (whose phone is it?): it is given to
    nobody, but what it says is reported — the visit ends in a STOP `code_red`, never a PASS."""
    rig = Rig()
    rig.run(0.75, 36.4, width=9)
    rig.run(1.0, 36.4, width=9, second=(9, 36.0), code=RED)  # somebody beside them
    assert rig.cp.visit is not None and rig.cp.visit.placement is Placement.CROWDED
    rig.run(4.0, 36.4, width=9, code=ScannedCode("b", CodeFacts(True, "G"), person_key="pB"))
    (out,) = rig.outcomes
    assert out.decision.reasons == ("code_red",) and out.code is not None and out.code.key == "red"


def test_the_last_visitors_alerting_phone_read_again_is_not_the_next_visitors_alert() -> None:
    """A is stopped (red) and walks off, phone still up; it is read once more as B steps in, before B
    shows theirs: that alert was reported with A's STOP — B, showing a green code, passes."""
    red_a = ScannedCode("a-red", CodeFacts(True, "R"), person_key="pA")
    green_b = ScannedCode("b", CodeFacts(True, "G"), person_key="pB")
    rig = Rig()
    rig.run(2.0, 36.4, code=red_a, width=9)
    rig.run(5.0, None)
    rig.run(DT, 36.6, width=9, code=red_a)  # B's first frame: not settled, A's phone behind
    assert rig.cp.visit is not None and rig.cp.visit.pending is red_a
    rig.cp.on_code(rig.t, green_b)  # ... and B's own, in the same frame
    rig.run(4.0, 36.6, width=9, code=green_b)
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.STOP, Verdict.PASS]


def test_the_event_carries_the_code_behind_its_most_urgent_reason() -> None:
    """Their yellow code, another phone's red one, their yellow again: STOP `code_red` and
    `code_yellow`, carrying the red code (the event's colour matches its first reason)."""
    yellow = ScannedCode("y", CodeFacts(True, "Y"), person_key="pY")
    red_a = ScannedCode("a-red", CodeFacts(True, "R"), person_key="pA")
    rig = Rig()
    rig.run(0.25, 36.4, width=9, code=yellow)
    rig.run(0.25, 36.4, width=9, code=red_a)
    rig.run(4.0, 36.4, width=9, code=yellow)
    (out,) = rig.outcomes
    assert out.decision.reasons == ("code_red", "code_yellow") and out.code is not None and out.code.key == "a-red"


def test_a_relaxed_policy_judges_the_visitors_own_code_as_it_is_now() -> None:
    """A trip through a risk area read while they stand too far; the township drops the area before
    they step closer and show the same code: judged by the policy in force (PASS), their own code's
    earlier alert not held against them."""
    trip = ScannedCode("t", CodeFacts(True, "G", trip_areas=("110101",)), person_key="pT")
    rig = Rig()
    rig.policy.replace(PolicyConfig(risk_areas=["110101"]))
    rig.run(1.0, 36.4, width=5, code=trip)
    rig.policy.replace(PolicyConfig(risk_areas=[], version="v2"))
    rig.run(4.0, 36.4, width=9, code=trip)
    assert [(o.decision.verdict, o.decision.reasons) for o in rig.outcomes] == [(Verdict.PASS, ())]


def test_an_old_green_screenshot_of_the_same_holder_does_not_hide_their_red_code() -> None:
    """Their live red code is read, they turn their head (a break), then show an older green screenshot
    of the same pass: the red code is still what stops them — only the very code judged now speaks for
    itself, not every code of its holder."""
    red = ScannedCode("a-live-red", CodeFacts(True, "R"), person_key="pA")
    rig = Rig()
    rig.run(DT, 36.4, width=9, code=red)
    rig.run(DT, None)
    rig.run(3.0, 36.4, width=9, code=ScannedCode("a-old-green", CodeFacts(True, "G"), person_key="pA"))
    assert [(o.decision.verdict, o.decision.reasons) for o in rig.outcomes] == [(Verdict.STOP, ("code_red",))]
